/**
 * `npx tsx bench/record/large-value-stall.ts`: the event loop's longest stall while a large value is
 * recorded into a SQLite store and written (and the finished run packed), in three arms: a tool
 * result of about 50 MB of JSON, a tool argument of about 50 MB, and a tool result holding one
 * 30 MB string of log lines with URLs and e-mail addresses; next to the stall of one plain
 * `JSON.stringify` of the 50 MB value. A setImmediate
 * ticker notes the longest gap between two of its turns; the phases are the agent's call (taking
 * the snapshot), the run's end (building the event in slices, the write) and the store packing the
 * run afterwards; then the arm's longest stall against the plain stringify's (the peer in the same
 * run). An idle window first shows what scheduling alone does on a loaded box. Knobs:
 * BENCH_VALUE_MB (50), BENCH_ARGUMENT_MB (50), BENCH_STRING_MB (30), BENCH_ARMS
 * (result,argument,replay,string; replay replays the argument's run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';

const VALUE_MB = Number(process.env.BENCH_VALUE_MB ?? 50);
const ARGUMENT_MB = Number(process.env.BENCH_ARGUMENT_MB ?? 50);
const STRING_MB = Number(process.env.BENCH_STRING_MB ?? 30);
const ARMS = (process.env.BENCH_ARMS ?? 'result,argument,replay,string').split(',');
const SALT = 'bench-salt';

/** About `mb` MB of log lines, each with a URL (a credential in its query) and an e-mail address, in one string. */
function logText(mb: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let index = 0; length < mb * 1024 * 1024; index++) {
    const line = `2026-12-07T10:00:${String(index % 60).padStart(2, '0')}Z GET https://api.test/v1/orders/${index}?page=2&access_token=t${index} 200 for c${index}@example.com\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('');
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Longest gap between two turns of a setImmediate loop, from start() to stop(). */
function stallTicker() {
  let running = true;
  let last = now();
  let longest = 0;
  const turn = () => {
    const at = now();
    longest = Math.max(longest, at - last);
    last = at;
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  return {
    /** Longest gap so far, then starts a new window. */
    take(): number {
      const at = now();
      const result = Math.max(longest, at - last);
      longest = 0;
      last = at;
      return result;
    },
    stop() {
      running = false;
    },
  };
}

/** About `mb` MB of JSON shaped like an API's list result, keys not in sorted order (so the key-order text is kept too). */
function largeResult(mb: number): { total: number; items: unknown[] } {
  const items: unknown[] = [];
  let bytes = 0;
  for (let index = 0; bytes < mb * 1024 * 1024; index++) {
    const item = {
      id: `ord_${index.toString(36).padStart(8, '0')}`,
      status: index % 7 === 0 ? 'refunded' : 'paid',
      customer: { name: `Customer ${index}`, email: `c${index}@example.com`, tier: index % 3 === 0 ? 'gold' : 'basic' },
      amount: Math.round((index * 7.31) % 1000) / 10,
      lines: [
        { sku: `S-${index % 997}`, qty: (index % 5) + 1, note: `line note ${index} `.repeat(3) },
        { sku: `S-${(index * 31) % 997}`, qty: 1, note: 'gift wrap' },
      ],
      createdAt: new Date(Date.UTC(2026, 0, 1) + index * 60_000).toISOString(),
    };
    bytes += JSON.stringify(item).length + 1;
    items.push(item);
  }
  return { total: items.length, items };
}

async function main(): Promise<void> {
  const value = largeResult(VALUE_MB);
  const directory = mkdtempSync(join(tmpdir(), 'retrial-stall-'));
  const sqlite = await openSqliteStore(join(directory, 'stall.db'));
  // Times each store.write from call to settle: once one synchronous SQLite transaction (its
  // duration was a stall), now large blobs' chunks in short transactions with turns between them.
  const writes: number[] = [];
  const store = new Proxy(sqlite, {
    get(target, property, receiver) {
      const member = Reflect.get(target, property, receiver);
      if (property !== 'write') return typeof member === 'function' ? member.bind(target) : member;
      return async (batch: Parameters<typeof sqlite.write>[0]) => {
        const start = now();
        try {
          return await target.write(batch);
        } finally {
          writes.push(now() - start);
        }
      };
    },
  });
  let longestGc = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longestGc = Math.max(longestGc, entry.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const failures: string[] = [];
  const rec = createRecorder({ store, agent: 'stall', redaction: { salt: SALT }, onRecordingError: (failure) => failures.push(failure.reason) });
  const lookup = rec.tool('list_orders', async () => value, { effect: 'read' });
  const save = rec.tool('save_orders', async (orders: { total: number }) => orders.total, { effect: 'write' });

  // Warm-up: the same code paths on a small value.
  await rec.run(null, async () => (await rec.tool('warm', async () => ({ a: [1, 2, 3] }), { effect: 'read' })()).a.length);
  await sqlite.idle();
  writes.length = 0;

  const ticker = stallTicker();
  await new Promise((resolve) => setTimeout(resolve, 50));
  ticker.take();

  // What the box does to a loop doing nothing: on a loaded shared machine, gaps from scheduling alone.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const idleStall = ticker.take();

  const plainStart = now();
  const text = JSON.stringify(value);
  const plainMs = now() - plainStart;
  await new Promise((resolve) => setImmediate(resolve));
  const plainStall = ticker.take();

  /** One arm: the agent calls `call` inside a run; the phases' stalls and walls. */
  const measure = async (call: () => Promise<unknown>, runId?: string) => {
    const phases: Record<string, { stall: number; wall: number }> = {};
    ticker.take();
    let phaseStart = now();
    const phase = (name: string) => {
      const at = now();
      phases[name] = { stall: ticker.take(), wall: at - phaseStart };
      phaseStart = at;
    };
    let resolveCall: () => void = () => {};
    const callReturned = new Promise<void>((resolve) => {
      resolveCall = resolve;
    });
    const recorded = rec.run(
      null,
      async () => {
        await call();
        resolveCall();
        return null;
      },
      runId === undefined ? {} : { runId },
    );
    await callReturned;
    phase("the agent's call (snapshot, arguments' redaction started)");
    await recorded;
    phase('run end: event built in slices, blobs and events written');
    await sqlite.idle();
    phase('the store packing the run afterwards');
    return phases;
  };
  const arms: Record<string, Record<string, { stall: number; wall: number }>> = {};
  if (ARMS.includes('result')) arms[`a ${VALUE_MB} MB tool result`] = await measure(() => lookup());
  if (ARMS.includes('argument')) {
    const argument = largeResult(ARGUMENT_MB);
    arms[`a ${ARGUMENT_MB} MB tool argument`] = await measure(() => save(argument), 'run_argument');
    if (ARMS.includes('replay')) {
      // The same agent replayed from the tape: the argument is taken, redacted and hashed again to match the call.
      const agent = defineAgent<null, null>({
        name: 'stall',
        codeVersion: 'bench',
        create({ rec: replaying }) {
          const saveAgain = replaying.tool('save_orders', async (orders: { total: number }) => orders.total, { effect: 'write' });
          return async () => {
            await saveAgain(argument);
            return null;
          };
        },
      });
      ticker.take();
      const start = now();
      const replayed = await replayRun({ store: sqlite, runId: 'run_argument', agent: agent as never, redactionSalt: SALT });
      arms[`replaying the ${ARGUMENT_MB} MB argument run (${replayed.ok ? 'reproduced' : `NOT reproduced: ${replayed.divergences.length} divergences`})`] = {
        'replayRun, tape loaded and the argument hashed': { stall: ticker.take(), wall: now() - start },
      };
    }
  }
  if (ARMS.includes('string')) {
    const log = logText(STRING_MB);
    const readLog = rec.tool('read_log', async () => ({ log }), { effect: 'read' });
    arms[`a ${STRING_MB} MB single string (log lines with URLs and e-mails) in a tool result`] = await measure(() => readLog());
  }
  gcObserver.disconnect();
  ticker.stop();

  const stats = await store.stats();
  const load = loadavg().map((value) => value.toFixed(2));
  console.log(`value: ${(text.length / 1024 / 1024).toFixed(1)} MB of JSON (${value.total} items); load average ${load.join(' ')}`);
  console.log(`idle loop for 2 s (scheduling noise): longest stall ${idleStall.toFixed(1)} ms`);
  console.log(`plain JSON.stringify: ${plainMs.toFixed(1)} ms, longest stall ${plainStall.toFixed(1)} ms`);
  for (const [arm, phases] of Object.entries(arms)) {
    console.log(`${arm}:`);
    for (const [name, figures] of Object.entries(phases))
      console.log(`  retrial, ${name}: wall ${figures.wall.toFixed(0)} ms, longest stall ${figures.stall.toFixed(1)} ms`);
    const longest = Math.max(...Object.values(phases).map((figures) => figures.stall));
    console.log(`  retrial, longest stall in all: ${longest.toFixed(1)} ms = ${(longest / plainStall).toFixed(2)}x one plain JSON.stringify of the value`);
  }
  console.log(
    `longest store.write, call to settle (wall, not a stall unless one transaction): ${Math.max(...writes).toFixed(1)} ms; longest garbage collection pause: ${longestGc.toFixed(1)} ms`,
  );
  console.log(
    `store: ${stats.blobs} blobs, ${(stats.blobBytesRaw / 1024 / 1024).toFixed(1)} MB raw; recording failures: ${failures.length ? failures.join('; ') : 'none'}`,
  );
  await sqlite.close();
  rmSync(directory, { recursive: true, force: true });
}

await main();
