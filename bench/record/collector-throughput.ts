/**
 * Recording throughput through the collector against straight into SQLite, same workload, same
 * process, alternating arms: events per second from the first run started until every event is
 * durable (the direct arm: written; the collector arm: acknowledged by `retrial server`, itself a
 * separate process writing into its own SQLite file, as in production). Prints both and the ratio.
 *
 *   npx tsx bench/record/collector-throughput.ts
 *
 * Knobs: BENCH_RUNS (400), BENCH_CONCURRENCY (8), BENCH_ROUNDS (3), BENCH_RESULT_BYTES (1000).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecorder, type RecordingRecorder } from '../../src/record/index.ts';
import { openStore } from '../../src/store/index.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RESULT_BYTES = Number(process.env.BENCH_RESULT_BYTES ?? 1000);
const TOKEN = 'bench-token';
const SALT = 'bench-salt';
const directory = mkdtempSync(join(tmpdir(), 'retrial-collector-bench-'));

/** One run of the workload: an input, 8 read tools with distinct ~1 KB results, clock reads and draws, a note, a decision. */
async function workload(rec: RecordingRecorder, round: string): Promise<number> {
  const lookup = rec.tool('lookup', async (run: number, step: number) => ({ run, step, text: `${round}:${run}:${step} `.padEnd(RESULT_BYTES, 'x') }), {
    effect: 'read',
  });
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      const run = next++;
      await rec.run({ round, run }, async () => {
        for (let step = 0; step < 8; step++) {
          await lookup(run, step);
          Date.now();
        }
        const draw = Math.random();
        rec.note('done', { draw });
        rec.decide({ type: 'bench', subject: `S-${run}`, value: draw < 0.5 ? 'a' : 'b' });
        return run;
      });
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await rec.flush();
  return performance.now() - started;
}

async function startCollector(database: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [join('bin', 'retrial.js'), 'server', '--db', database, '--port', '0', '--token', TOKEN], {
    env: { ...process.env, RETRIAL_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+) /.exec(out);
      if (match) resolve(match[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`retrial server exited (${code})`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function eventsIn(database: string): Promise<number> {
  const store = await openStore(database, { create: false });
  try {
    return (await store.stats()).events;
  } finally {
    await store.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const loadBefore = loadavg()[0] as number;
const rates = { direct: [] as number[], collector: [] as number[] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const directDb = join(directory, `direct-${round}.db`);
    const store = await openStore(directDb);
    const direct = createRecorder({ store, agent: 'bench', redaction: { salt: SALT } });
    const directMs = await workload(direct, `d${round}`);
    await store.close();
    rates.direct.push((await eventsIn(directDb)) / (directMs / 1000));

    const collectorDb = join(directory, `collector-${round}.db`);
    const collector = await startCollector(collectorDb);
    const remote = createRecorder({ agent: 'bench', collector: { url: collector.url, token: TOKEN }, redaction: { salt: SALT } });
    const collectorMs = await workload(remote, `c${round}`);
    await collector.stop();
    rates.collector.push((await eventsIn(collectorDb)) / (collectorMs / 1000));
    process.stdout.write(
      `round ${round + 1}: direct ${Math.round(rates.direct[round] as number)} events/s, collector ${Math.round(rates.collector[round] as number)} events/s\n`,
    );
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
const direct = median(rates.direct);
const collector = median(rates.collector);
process.stdout.write(
  `${[
    `workload: ${RUNS} runs x ~20 events (8 read tools with ~${RESULT_BYTES} B results, a note, a decision), ${CONCURRENCY} at a time; ${ROUNDS} rounds, medians`,
    `direct into SQLite:           ${Math.round(direct)} events/s`,
    `through the collector (HTTP): ${Math.round(collector)} events/s`,
    `ratio collector / direct:     ${(collector / direct).toFixed(2)}`,
    `load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after; ${cpus().length} cores`,
  ].join('\n')}\n`,
);
