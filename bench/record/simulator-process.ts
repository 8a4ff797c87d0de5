/**
 * Starts `simulator-child.ts` in its own Node process (see that file for why) and hands back
 * the two base URLs. `stop()` ends exactly that child, by its own handle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface SimulatorProcess {
  /** Base URL (without /v1) of the server that answers at once. */
  plainUrl: string;
  /** Base URL of the server that waits between stream chunks. */
  streamingUrl: string;
  stop(): Promise<void>;
}

export async function startSimulatorProcess(options: { chunkDelayMs: number; seed?: string }): Promise<SimulatorProcess> {
  const script = join(import.meta.dirname, 'simulator-child.ts');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, String(options.chunkDelayMs), options.seed ?? 'record-bench'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const urls = await new Promise<{ plain: string; streaming: string }>((resolve, reject) => {
    let buffered = '';
    const timeout = setTimeout(() => reject(new Error('simulator child did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`simulator child exited early with code ${code}`)));
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timeout);
      resolve(JSON.parse(buffered.slice(0, newline)));
    });
  });
  return {
    plainUrl: urls.plain,
    streamingUrl: urls.streaming,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
      }),
  };
}
