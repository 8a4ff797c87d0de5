/**
 * `npm run bench:scale:workers`: backfill throughput across worker processes. One campaign per
 * pass goes on the pg-boss queue (`retrial backfill run --distributed`) and 1, 2 and 4
 * `retrial worker` processes run it, each model answer 100 ms late (the in-process simulator with
 * --sim-latency 100). Prints decisions/s and requests/s per worker count, the ratio to linear
 * (N x the 1-worker rate) and to the ideal (N x concurrency / latency), the workers' CPU, and the
 * load average before and after (the machine may be shared: read the figures with it).
 *
 * The store is a SQLite file the workers share, or with BENCH_STORE=postgres the same PostgreSQL
 * database as the queue, on a cluster the bench starts itself.
 * Knobs: BENCH_RUNS (1000 demo tickets recorded), BENCH_CONCURRENCY (4 requests in flight per
 * worker), BENCH_CHUNK (16 decisions per chunk), BENCH_WORKERS (1,2,4), BENCH_LATENCY_MS (100).
 * It is a benchmark, not a test: it exits 0 and says MISS when a goal is missed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startOwnPostgres } from '../../test/fixtures/own-postgres.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 16);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 100);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const GOAL = 0.8;

const BIN = join(process.cwd(), 'bin', 'retrial.js');
const env: NodeJS.ProcessEnv = { ...process.env, RETRIAL_FROM_SOURCE: '1' };
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

function cli(args: string[]): string {
  return execFileSync(process.execPath, [BIN, ...args], { env, maxBuffer: 64 * 1024 * 1024 }).toString();
}

/** CPU seconds (user + system) a live process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Pass {
  workers: number;
  decisions: number;
  requests: number;
  seconds: number;
  cpuSeconds: number;
}

async function pass(workers: number, db: string, queue: string): Promise<Pass> {
  const planned = JSON.parse(
    cli([
      'backfill',
      'plan',
      '--type',
      'refund.category',
      '--since',
      '400d',
      '--candidate',
      'sim:support-sim-2026-04-01',
      '--chunk-size',
      String(CHUNK),
      '--db',
      db,
      '--json',
    ]),
  ) as { campaignId: string; plan: { selected: number; noiseFloor: number; chunks: number } };
  const { campaignId, plan } = planned;
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  let done = 0;
  let firstStart = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  for (let index = 0; index < workers; index++) {
    const child = spawn(
      process.execPath,
      [BIN, 'worker', '--queue', queue, '--db', db, '--concurrency', String(CONCURRENCY), '--sim-seed', 'bench', '--sim-latency', String(LATENCY_MS)],
      { env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    ready.push(
      new Promise((resolve) => {
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          if (line.includes('waiting for chunks')) resolve();
          if (firstStart === 0 && line.startsWith('chunk ') && line.includes(`of ${campaignId}: started`)) firstStart = performance.now();
          if (line.startsWith('chunk ') && line.includes(`of ${campaignId}: done`) && ++done === plan.chunks) finish();
        });
      }),
    );
  }
  // Time from the first chunk started to the last one done: start-up (loading the CLI, connecting)
  // and the idle workers' next look at the queue (once a second) are not backfill.
  await Promise.all(ready);
  const cpuBefore = children.reduce((sum, child) => sum + cpuSeconds(child.pid as number), 0);
  cli(['backfill', 'run', campaignId, '--distributed', '--queue', queue, '--db', db, '--json']);
  await finished;
  const seconds = (performance.now() - firstStart) / 1000;
  const cpu = children.reduce((sum, child) => sum + cpuSeconds(child.pid as number), 0) - cpuBefore;
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          child.once('close', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
  return { workers, decisions: plan.selected, requests: plan.selected + plan.noiseFloor, seconds, cpuSeconds: cpu };
}

const directory = mkdtempSync(join(tmpdir(), 'retrial-scale-workers-'));
const postgres = await startOwnPostgres();
await postgres.sql('CREATE DATABASE retrial');
const queueUrl = postgres.url('retrial');
try {
  // BENCH_STORE=postgres: the store in the queue's database too (workers given --db only).
  const db = process.env.BENCH_STORE === 'postgres' ? queueUrl : (process.env.BENCH_STORE ?? join(directory, 'store.db'));
  env.RETRIAL_REDACTION_SALT ??= 'bench-scale-workers';
  console.log('# retrial scale benchmark: backfill workers');
  console.log(
    `machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}; load average ${load()} (shared machine: other work may run)`,
  );
  const recordStarted = performance.now();
  cli(['demo', '--runs', String(RUNS), '--db', db, '--json']);
  console.log(
    `store ${db.replace(/:[^:@/]+@/, ':***@')}: ${RUNS} demo tickets recorded in ${((performance.now() - recordStarted) / 1000).toFixed(0)} s; queue on a throwaway PostgreSQL at port ${postgres.port}`,
  );
  console.log(
    `each worker: --concurrency ${CONCURRENCY}, model latency ${LATENCY_MS} ms (ideal ${((CONCURRENCY * 1000) / LATENCY_MS).toFixed(0)} requests/s per worker), chunks of ${CHUNK} decisions\n`,
  );

  const passes: Pass[] = [];
  for (const workers of WORKER_COUNTS) {
    const result = await pass(workers, db, queueUrl);
    passes.push(result);
    console.log(`${workers} worker(s): ${result.requests} requests in ${result.seconds.toFixed(2)} s; load average now ${load()}`);
  }

  const base = passes.find((entry) => entry.workers === 1) ?? passes[0];
  const baseRate = base ? base.decisions / base.seconds / base.workers : 0;
  console.log('\n| workers | decisions | requests | s | decisions/s | requests/s | vs linear | vs ideal | worker CPU s per 100 requests |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const entry of passes) {
    const decisionsPerSecond = entry.decisions / entry.seconds;
    const requestsPerSecond = entry.requests / entry.seconds;
    const ideal = (entry.workers * CONCURRENCY * 1000) / LATENCY_MS;
    console.log(
      `| ${entry.workers} | ${entry.decisions} | ${entry.requests} | ${entry.seconds.toFixed(2)} | ${decisionsPerSecond.toFixed(1)} | ${requestsPerSecond.toFixed(1)} | ${(decisionsPerSecond / (entry.workers * baseRate)).toFixed(2)} | ${(requestsPerSecond / ideal).toFixed(2)} | ${((100 * entry.cpuSeconds) / entry.requests).toFixed(2)} |`,
    );
  }
  const coreBound = passes.filter((entry) => entry.workers <= cpus().length);
  const worst = Math.min(...coreBound.map((entry) => entry.decisions / entry.seconds / (entry.workers * baseRate)));
  console.log(
    `\ngoal: within ${GOAL * 100}% of linear up to ${cpus().length} workers (the cores): worst ${worst.toFixed(2)} -> ${worst >= GOAL ? 'OK' : 'MISS'}`,
  );
  console.log(`load average at the end: ${load()}`);
} finally {
  await postgres.destroy();
  rmSync(directory, { recursive: true, force: true });
}
