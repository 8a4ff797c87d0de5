import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A child process whose output is collected, and a way to wait for a line of it. */
export interface WatchedProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout, now or once it is printed. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

export function watch(child: ChildProcess): WatchedProcess {
  let out = '';
  let err = '';
  const waiters: Array<{ pattern: RegExp; resolve: (match: RegExpExecArray) => void; reject: (error: Error) => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(out);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  child.stdout?.on('data', (chunk) => {
    out += chunk;
    check();
  });
  child.stderr?.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then((code) => {
    for (const waiter of waiters.splice(0)) waiter.reject(new Error(`the process exited (${code}) before printing ${waiter.pattern}: ${err}`));
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern) {
      const match = pattern.exec(out);
      if (match) return Promise.resolve(match);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`the process has exited: ${err}`));
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
  };
}

/** `retrial server` as a user starts it; resolves once it listens. */
export async function startCollectorProcess(
  database: string,
  { port = 0, token }: { port?: number; token: string },
): Promise<WatchedProcess & { url: string; port: number }> {
  const child = spawn(process.execPath, [join('bin', 'retrial.js'), 'server', '--db', database, '--port', String(port), '--token', token], {
    env: { ...process.env, RETRIAL_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watched = watch(child);
  const [, url] = (await watched.waitFor(/listening on (http:\/\/\S+) /)) as unknown as [string, string];
  return { ...watched, url, port: Number(new URL(url).port) };
}

/** test/fixtures/record-through-collector.ts: `count` runs named `<prefix>_NNNN` through the collector at `url`. */
export function startRecorderProcess({
  url,
  token,
  prefix,
  count,
  pauseMs = 0,
}: {
  url: string;
  token: string;
  prefix: string;
  count: number;
  pauseMs?: number;
}): WatchedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join('test', 'fixtures', 'record-through-collector.ts'), prefix, String(count), String(pauseMs)], {
    env: { ...process.env, RETRIAL_URL: url, RETRIAL_TOKEN: token, RETRIAL_REDACTION_SALT: 'collector-test-salt' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child);
}
