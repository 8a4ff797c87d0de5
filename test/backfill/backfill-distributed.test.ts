import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRun, importRun, openStore } from '../../src/store/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { type OwnPostgres, startOwnPostgres } from '../fixtures/own-postgres.ts';

/**
 * Backfill across processes: a campaign's chunks go on the pg-boss queue and three `retrial worker`
 * processes run them. One worker is SIGKILLed in the middle of a chunk (its job must come back after
 * its timeout), one is stopped with SIGTERM (it puts its chunk back and exits 0) and replaced, and the
 * queue's PostgreSQL is restarted while the others work. The campaign still ends with exactly one
 * result per decision and arm, and with the same results and flip matrix as the same campaign run in
 * one process. The simulator answers deterministically (--sim-seed: an answer depends on the request
 * alone), so "the same" is exact.
 *
 * Store and queue are one PostgreSQL database (`--db postgres://...`, the queue defaulting to it) on a
 * cluster this test starts itself, so that restarting it disturbs no one else. The demo history is
 * recorded into a SQLite file and its runs imported into PostgreSQL; the same campaign (same window,
 * same chunks) is planned in both, and the SQLite one is run in one process for the comparison.
 */

const BIN = join(process.cwd(), 'bin', 'retrial.js');
// A PostgreSQL store keeps no salt file; every process that opens it is given the same salt.
process.env.RETRIAL_REDACTION_SALT ??= 'distributed-backfill-test';
const SEED = 'distributed-backfill';
const CHUNK = 4;
const JOB_TIMEOUT_SECONDS = 4;
const directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-distributed-'));
const local = join(directory, 'local.db');
let db: string;
let localCampaignId: string;

let postgres: OwnPostgres | undefined;
let campaignId: string;
let chunks: number;
const workers: Worker[] = [];
/** Checks re-run on every line any worker prints and whenever one ends. */
const onAnyLine = new Set<() => void>();
const notify = () => {
  for (const check of [...onAnyLine]) check();
};

/** Resolves when `condition` holds over what the workers have printed; rejects if every worker has ended first. */
function waitUntil(condition: () => boolean, describe: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) {
        onAnyLine.delete(check);
        resolve();
      } else if (workers.every((worker) => worker.child.exitCode !== null || worker.child.signalCode !== null)) {
        onAnyLine.delete(check);
        reject(new Error(describe()));
      }
    };
    onAnyLine.add(check);
    check();
  });
}

interface Worker {
  name: string;
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** The first line from `from` on that matches, waiting for it to be printed. */
  waitFor(pattern: RegExp, from?: number): Promise<{ match: RegExpMatchArray; index: number }>;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(name: string): Worker {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--db', db, '--sim-seed', SEED, '--sim-latency', '100', '--concurrency', '2', '--jobs', '1', '--reclaim-interval', '1'],
    { env: { ...process.env, RETRIAL_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const check of [...waiters]) check();
    notify();
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      resolve({ code, signal });
      notify();
    }),
  );
  const worker: Worker = {
    name,
    child,
    lines,
    stderr: () => stderr,
    waitFor: (pattern, from = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          for (let index = from; index < lines.length; index++) {
            const match = (lines[index] as string).match(pattern);
            if (match) {
              waiters.delete(check);
              resolve({ match, index });
              return;
            }
          }
        };
        waiters.add(check);
        check();
        ended.then(({ code, signal }) => {
          if (waiters.delete(check)) reject(new Error(`${name} ended (${code ?? signal}) before printing ${pattern}:\n${lines.join('\n')}\n${stderr}`));
        });
      }),
    ended,
  };
  workers.push(worker);
  return worker;
}

/** Every result of a campaign, by item and arm, from any store. */
async function resultsOf(location: string, campaign: string) {
  const store = await openStore(location);
  try {
    return (await store.campaigns.results(campaign)).map(({ itemId, arm, result }) => {
      const { value, tool, error } = result as { value?: string; tool?: string; error?: string };
      return { item: itemId, arm, value, tool, error };
    });
  } finally {
    await store.close();
  }
}

/** How many of a chunk's arms have a result, and how many arms the campaign has. */
async function counts(campaign: string, chunk: number): Promise<{ chunkResults: number; total: number }> {
  const store = await openStore(db);
  try {
    const items = await store.campaigns.items(campaign);
    const inChunk = new Set(items.filter((item) => item.chunk === chunk).map((item) => item.itemId));
    const results = await store.campaigns.results(campaign);
    return { chunkResults: results.filter((result) => inChunk.has(result.itemId)).length, total: items.reduce((sum, item) => sum + item.arms.length, 0) };
  } finally {
    await store.close();
  }
}

async function plan(store: string, window: { since: string; until: string }) {
  const planned = await runCli([
    'backfill',
    'plan',
    '--type',
    'refund.category',
    '--since',
    window.since,
    '--until',
    window.until,
    '--candidate',
    'sim:support-sim-2026-04-01',
    '--chunk-size',
    String(CHUNK),
    '--db',
    store,
    '--json',
  ]);
  expect(planned.status, planned.stderr).toBe(0);
  return JSON.parse(planned.stdout) as { campaignId: string; plan: { chunks: number; selected: number; noiseFloor: number } };
}

beforeAll(async () => {
  postgres = await startOwnPostgres();
  await postgres.sql('CREATE DATABASE retrial');
  db = postgres.url('retrial');
  const demo = await runCli(['demo', '--runs', '300', '--db', local, '--json']);
  expect(demo.status, demo.stderr).toBe(0);
  // The recorded runs, moved into the PostgreSQL store as portable tapes.
  const [from, to] = [await openStore(local), await openStore(db)];
  try {
    for (const run of await from.listRuns({ limit: 100_000 })) expect((await importRun(to, await exportRun(from, run.runId))).outcome).toBe('imported');
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
  // The same campaign in both stores: the same window, so the same decisions in the same chunks.
  const until = new Date();
  const window = { since: new Date(until.getTime() - 400 * 86_400_000).toISOString(), until: until.toISOString() };
  const distributed = await plan(db, window);
  const inProcess = await plan(local, window);
  campaignId = distributed.campaignId;
  localCampaignId = inProcess.campaignId;
  chunks = distributed.plan.chunks;
  expect(inProcess.plan).toMatchObject({ chunks, selected: distributed.plan.selected });
  expect(distributed.plan.noiseFloor).toBe(distributed.plan.selected);
}, 300_000);

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.ended));
  await postgres?.destroy();
  rmSync(directory, { recursive: true, force: true });
});

describe('backfill on three worker processes through the PostgreSQL queue', () => {
  it('survives a SIGKILLed worker, a SIGTERMed one and a PostgreSQL restart, with exactly the results of a local run', { timeout: 600_000 }, async () => {
    const enqueue = ['backfill', 'run', campaignId, '--distributed', '--db', db, '--job-timeout', String(JOB_TIMEOUT_SECONDS), '--json'];
    const first = await runCli(enqueue);
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ campaignId, chunks, unfinished: chunks, added: chunks, requeued: 0, alreadyQueued: 0 });
    // Enqueuing again adds nothing: each chunk's job id is derived from (campaign, chunk).
    const again = await runCli(enqueue);
    expect(JSON.parse(again.stdout)).toEqual({ campaignId, chunks, unfinished: chunks, added: 0, requeued: 0, alreadyQueued: chunks });

    const [victim, stopped, steady] = [startWorker('worker 1'), startWorker('worker 2'), startWorker('worker 3')];
    const started = /^chunk (\d+) of \S+: started \((\d+) arms to run\)$/;

    // SIGKILL worker 1 as soon as it has started a chunk: the chunk is mid-way (results are written at its end).
    const killed = await victim.waitFor(started);
    victim.child.kill('SIGKILL');
    expect((await victim.ended).signal).toBe('SIGKILL');
    const killedChunk = Number(killed.match[1]);
    const { chunkResults, total } = await counts(campaignId, killedChunk);
    expect(chunkResults, 'the killed chunk was still mid-way').toBeLessThan(Number(killed.match[2]));

    // SIGTERM worker 2 while it runs a chunk: it finishes what is in flight, puts the chunk back if unfinished, exits 0.
    const before = (await stopped.waitFor(started)).index;
    stopped.child.kill('SIGTERM');
    const termEnd = await stopped.ended;
    expect(termEnd, stopped.stderr()).toEqual({ code: 0, signal: null });
    expect(stopped.lines.slice(before + 1).join('\n')).toMatch(/SIGTERM: finishing[\s\S]*(done|put back on the queue)[\s\S]*worker \d+ stopped/);
    const replacement = startWorker('worker 4');
    // A worker that cannot reach PostgreSQL when it starts says so and exits: let this one connect first.
    await replacement.waitFor(/waiting for chunks$/);

    // Restart PostgreSQL (the store and the queue) while the campaign is unfinished.
    expect((await resultsOf(db, campaignId)).length).toBeLessThan(total);
    await postgres?.stop();
    await postgres?.start();

    // Every chunk ends with a `done` line from some worker; the killed one's chunk comes back after its timeout.
    const doneChunks = () =>
      new Set(workers.flatMap((worker) => worker.lines.map((line) => /^chunk (\d+) of \S+: done/.exec(line)?.[1]).filter((chunk) => chunk !== undefined)));
    await waitUntil(
      () => doneChunks().size === chunks,
      () =>
        `workers ended with chunks ${[...doneChunks()].join(', ')} of ${chunks} done:\n${workers.map((w) => `${w.name}:\n${w.lines.join('\n')}\n${w.stderr()}`).join('\n')}`,
    );
    const takenAgain = [steady, replacement].some((worker) => worker.lines.some((line) => new RegExp(`^chunk ${killedChunk} of \\S+: started`).test(line)));
    expect(takenAgain, 'another worker took the killed chunk').toBe(true);
    for (const worker of [steady, replacement]) {
      worker.child.kill('SIGTERM');
      expect(await worker.ended, worker.stderr()).toEqual({ code: 0, signal: null });
    }

    // Exactly one result per decision and arm: none missing, none extra, none refused.
    const distributed = await resultsOf(db, campaignId);
    expect(distributed.length).toBe(total);
    expect(new Set(distributed.map((result) => `${result.item}\n${result.arm}`)).size).toBe(total);
    expect(distributed.filter((result) => result.error !== undefined)).toEqual([]);

    const status = await runCli(['backfill', 'status', campaignId, '--db', db, '--json']);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      chunks: { total: chunks, done: chunks, running: 0, queued: 0, failed: 0, notQueued: 0 },
      arms: { candidate: { done: total / 2, total: total / 2 }, incumbent: { done: total / 2, total: total / 2 } },
    });
    const rerun = await runCli(enqueue);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ unfinished: 0, added: 0, requeued: 0 });

    // The same campaign in one process, with the same simulator seed: the same results, the same flip matrix.
    const inProcess = await runCli(['backfill', 'run', localCampaignId, '--db', local, '--sim-seed', SEED, '--json']);
    expect(inProcess.status, inProcess.stderr).toBe(0);
    expect(distributed).toEqual(await resultsOf(local, localCampaignId));
    const [reportDistributed, reportLocal] = await Promise.all(
      [
        [db, campaignId],
        [local, localCampaignId],
      ].map(([store, campaign]) =>
        runCli(['backfill', 'report', campaign as string, '--db', store as string, '--out', join(directory, `${campaign}.md`), '--json']),
      ),
    );
    const matrix = (output: string) => (JSON.parse(output) as { flipMatrix: unknown }).flipMatrix;
    expect(matrix(reportDistributed!.stdout)).toEqual(matrix(reportLocal!.stdout));
    const flips = (JSON.parse(reportDistributed!.stdout) as { flipRate: { successes: number } }).flipRate.successes;
    expect(flips, 'the candidate flips some decisions, so the comparison is not vacuous').toBeGreaterThan(0);
  });
});
