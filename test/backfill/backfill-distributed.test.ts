import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../fixtures/throwaway-postgres.ts';

/**
 * Backfill across processes: a campaign's chunks go on the pg-boss queue and three `retrial worker`
 * processes run them. One worker is SIGKILLed in the middle of a chunk (its job must come back after
 * its timeout), one is stopped with SIGTERM (it puts its chunk back and exits 0) and replaced, and the
 * queue's PostgreSQL is restarted while the others work. The campaign still ends with exactly one
 * result per decision and arm, and with the same results and flip matrix as the same campaign run in
 * one process. The simulator answers deterministically (--sim-seed: an answer depends on the request
 * alone), so "the same" is exact.
 *
 * The store is a SQLite file the workers share; the queue is on a PostgreSQL cluster this test starts
 * itself, so that restarting it disturbs no one else.
 */

const BIN = join(process.cwd(), 'bin', 'retrial.js');
const SEED = 'distributed-backfill';
const CHUNK = 4;
const JOB_TIMEOUT_SECONDS = 4;
const directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-distributed-'));
const db = join(directory, 'distributed.db');
const local = join(directory, 'local.db');

let postgres: ThrowawayPostgres | undefined;
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

function startWorker(name: string, queue: string): Worker {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--queue', queue, '--db', db, '--sim-seed', SEED, '--sim-latency', '100', '--concurrency', '2', '--jobs', '1', '--reclaim-interval', '1'],
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

function resultsOf(path: string, campaign: string) {
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return reader
      .prepare('SELECT item_id, arm, result_json FROM campaign_results WHERE campaign_id = ? ORDER BY item_id, arm')
      .all(campaign)
      .map((row) => {
        const { item_id, arm, result_json } = row as { item_id: string; arm: string; result_json: string };
        const { value, tool, error } = JSON.parse(result_json) as { value?: string; tool?: string; error?: string };
        return { item: item_id, arm, value, tool, error };
      });
  } finally {
    reader.close();
  }
}

function query<T>(sql: string, ...parameters: unknown[]): T[] {
  const reader = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return reader.prepare(sql).all(...parameters) as T[];
  } finally {
    reader.close();
  }
}

beforeAll(async () => {
  postgres = await startThrowawayPostgres();
  const demo = await runCli(['demo', '--runs', '300', '--db', db, '--json']);
  expect(demo.status, demo.stderr).toBe(0);
  const planned = await runCli([
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
  ]);
  expect(planned.status, planned.stderr).toBe(0);
  const parsed = JSON.parse(planned.stdout) as { campaignId: string; plan: { chunks: number; selected: number; noiseFloor: number } };
  campaignId = parsed.campaignId;
  chunks = parsed.plan.chunks;
  expect(parsed.plan.noiseFloor).toBe(parsed.plan.selected);
  // The same campaign, to run in one process for comparison.
  copyFileSync(db, local);
  if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${local}-wal`);
}, 300_000);

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.ended));
  postgres?.stop();
  rmSync(directory, { recursive: true, force: true });
});

describe('backfill on three worker processes through the PostgreSQL queue', () => {
  it('survives a SIGKILLed worker, a SIGTERMed one and a PostgreSQL restart, with exactly the results of a local run', { timeout: 600_000 }, async () => {
    const queue = (postgres as ThrowawayPostgres).url;
    const enqueue = ['backfill', 'run', campaignId, '--distributed', '--queue', queue, '--db', db, '--job-timeout', String(JOB_TIMEOUT_SECONDS), '--json'];
    const first = await runCli(enqueue);
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual({ campaignId, chunks, unfinished: chunks, added: chunks, requeued: 0, alreadyQueued: 0 });
    // Enqueuing again adds nothing: each chunk's job id is derived from (campaign, chunk).
    const again = await runCli(enqueue);
    expect(JSON.parse(again.stdout)).toEqual({ campaignId, chunks, unfinished: chunks, added: 0, requeued: 0, alreadyQueued: chunks });

    const [victim, stopped, steady] = [startWorker('worker 1', queue), startWorker('worker 2', queue), startWorker('worker 3', queue)];
    const started = /^chunk (\d+) of \S+: started \((\d+) arms to run\)$/;

    // SIGKILL worker 1 as soon as it has started a chunk: the chunk is mid-way (results are written at its end).
    const killed = await victim.waitFor(started);
    victim.child.kill('SIGKILL');
    expect((await victim.ended).signal).toBe('SIGKILL');
    const killedChunk = Number(killed.match[1]);
    const [{ n: resultsOfKilledChunk } = { n: -1 }] = query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM campaign_results r JOIN campaign_items i USING (campaign_id, item_id) WHERE r.campaign_id = ? AND i.chunk = ?',
      campaignId,
      killedChunk,
    );
    expect(resultsOfKilledChunk, 'the killed chunk was still mid-way').toBeLessThan(Number(killed.match[2]));

    // SIGTERM worker 2 while it runs a chunk: it finishes what is in flight, puts the chunk back if unfinished, exits 0.
    const before = (await stopped.waitFor(started)).index;
    stopped.child.kill('SIGTERM');
    const termEnd = await stopped.ended;
    expect(termEnd, stopped.stderr()).toEqual({ code: 0, signal: null });
    expect(stopped.lines.slice(before + 1).join('\n')).toMatch(/SIGTERM: finishing[\s\S]*(done|put back on the queue)[\s\S]*worker \d+ stopped/);
    const replacement = startWorker('worker 4', queue);
    // A worker that cannot reach PostgreSQL when it starts says so and exits: let this one connect first.
    await replacement.waitFor(/waiting for chunks$/);

    // Restart the queue's PostgreSQL while the campaign is unfinished.
    const total = 2 * query<{ n: number }>('SELECT COUNT(*) AS n FROM campaign_items WHERE campaign_id = ?', campaignId)[0]!.n;
    expect(resultsOf(db, campaignId).length).toBeLessThan(total);
    postgres?.restart();

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
    const distributed = resultsOf(db, campaignId);
    expect(distributed.length).toBe(total);
    const missing = query(
      `SELECT i.item_id, arm.value AS arm FROM campaign_items i, json_each(i.arms) arm WHERE i.campaign_id = ? AND NOT EXISTS
         (SELECT 1 FROM campaign_results r WHERE r.campaign_id = i.campaign_id AND r.item_id = i.item_id AND r.arm = arm.value)`,
      campaignId,
    );
    expect(missing).toEqual([]);
    expect(distributed.filter((result) => result.error !== undefined)).toEqual([]);

    const status = await runCli(['backfill', 'status', campaignId, '--queue', queue, '--db', db, '--json']);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      chunks: { total: chunks, done: chunks, running: 0, queued: 0, failed: 0, notQueued: 0 },
      arms: { candidate: { done: total / 2, total: total / 2 }, incumbent: { done: total / 2, total: total / 2 } },
    });
    const rerun = await runCli(enqueue);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ unfinished: 0, added: 0, requeued: 0 });

    // The same campaign in one process, with the same simulator seed: the same results, the same flip matrix.
    const inProcess = await runCli(['backfill', 'run', campaignId, '--db', local, '--sim-seed', SEED, '--json']);
    expect(inProcess.status, inProcess.stderr).toBe(0);
    expect(distributed).toEqual(resultsOf(local, campaignId));
    const [reportDistributed, reportLocal] = await Promise.all(
      [db, local].map((path) => runCli(['backfill', 'report', campaignId, '--db', path, '--out', join(directory, `${path === db ? 'd' : 'l'}.md`), '--json'])),
    );
    const matrix = (output: string) => (JSON.parse(output) as { flipMatrix: unknown }).flipMatrix;
    expect(matrix(reportDistributed!.stdout)).toEqual(matrix(reportLocal!.stdout));
    const flips = (JSON.parse(reportDistributed!.stdout) as { flipRate: { successes: number } }).flipRate.successes;
    expect(flips, 'the candidate flips some decisions, so the comparison is not vacuous').toBeGreaterThan(0);
  });
});
