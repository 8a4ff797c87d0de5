/**
 * Recording throughput through the collector against straight into SQLite, same workload, same
 * process, alternating arms: events per second from the first run started until every event is
 * durable (the direct arm: written; the collector arm: acknowledged by `retrial server`, itself a
 * separate process writing into its own SQLite file, as in production). Prints both and the ratio.
 *
 *   npx tsx bench/record/collector-throughput.ts
 *
 * Knobs: BENCH_RUNS (400), BENCH_CONCURRENCY (8), BENCH_ROUNDS (3), BENCH_RESULT_BYTES (1000).
 * BENCH_PG=postgres://.../<empty database> adds two arms: straight into that PostgreSQL database,
 * and through the collector into it.
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
const PG = process.env.BENCH_PG || undefined;
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
  const store = await openStore(database, { create: database.startsWith('postgres') });
  try {
    return (await store.stats()).events;
  } finally {
    await store.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const loadBefore = loadavg()[0] as number;
type Arm = 'direct' | 'collector' | 'direct-pg' | 'collector-pg';
const arms: Arm[] = PG ? ['direct', 'collector', 'direct-pg', 'collector-pg'] : ['direct', 'collector'];
const rates = Object.fromEntries(arms.map((arm) => [arm, [] as number[]])) as Record<Arm, number[]>;

/** One arm of one round: events per second until every event is durable. */
async function measure(arm: Arm, round: number): Promise<number> {
  const database = arm.endsWith('pg') ? (PG as string) : join(directory, `${arm}-${round}.db`);
  const before = arm.endsWith('pg') ? await eventsIn(database) : 0;
  let elapsedMs: number;
  if (arm.startsWith('direct')) {
    const store = await openStore(database);
    elapsedMs = await workload(createRecorder({ store, agent: 'bench', redaction: { salt: SALT } }), `${arm}${round}`);
    await store.close();
  } else {
    const collector = await startCollector(database);
    elapsedMs = await workload(
      createRecorder({ agent: 'bench', collector: { url: collector.url, token: TOKEN }, redaction: { salt: SALT } }),
      `${arm}${round}`,
    );
    await collector.stop();
  }
  return ((await eventsIn(database)) - before) / (elapsedMs / 1000);
}

try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const arm of arms) rates[arm].push(await measure(arm, round));
    process.stdout.write(`round ${round + 1}: ${arms.map((arm) => `${arm} ${Math.round(rates[arm][round] as number)}`).join(', ')} events/s\n`);
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
const direct = median(rates.direct);
const collector = median(rates.collector);
const lines = [
  `workload: ${RUNS} runs x ~20 events (8 read tools with ~${RESULT_BYTES} B results, a note, a decision), ${CONCURRENCY} at a time; ${ROUNDS} rounds, medians`,
  `direct into SQLite:           ${Math.round(direct)} events/s`,
  `through the collector (HTTP): ${Math.round(collector)} events/s (into SQLite)`,
  `ratio collector / direct:     ${(collector / direct).toFixed(2)}`,
];
if (PG) {
  const directPg = median(rates['direct-pg']);
  const collectorPg = median(rates['collector-pg']);
  lines.push(
    `direct into PostgreSQL:       ${Math.round(directPg)} events/s`,
    `through the collector (HTTP): ${Math.round(collectorPg)} events/s (into PostgreSQL)`,
    `ratio collector / direct:     ${(collectorPg / directPg).toFixed(2)} (PostgreSQL)`,
  );
}
lines.push(`load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after; ${cpus().length} cores`);
process.stdout.write(`${lines.join('\n')}\n`);
