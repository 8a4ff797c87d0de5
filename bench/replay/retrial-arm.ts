/**
 * The retrial arm: strict replays read from SQLite, one after another on one thread.
 *
 * Each replay is the whole public operation, `replayer.replay(runId)` of
 * `createReplayer({ store, agent, redactionSalt })`: load the tape from the store, re-execute the
 * agent's code with every model call, tool, retrieval, clock read and random draw served from the
 * tape, and check calls, order, payloads, decisions and output. The replayer creates the agent
 * once per pass, as `retrial replay --all` does and as every other arm does (the agent's `create`
 * builds an openai client); the per-run arm calls `replayRun` for each run, which creates it for
 * each replay, as `retrial replay <run>` does. Sequential on purpose: the target is "on one
 * core", and JavaScript runs a replay on one thread anyway. Every pass starts with cold caches
 * (see openCold), so a later pass does not replay from what an earlier one left in memory. Timed
 * with `process.hrtime` because inside a replay `Date.now` and `performance.now` are served from
 * the tape.
 */
import { supportAgent } from '../../src/demo/index.ts';
import { forgetCachedBlobs } from '../../src/inspect/blob-cache.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { forgetRedactionMemos } from '../../src/record/redaction.ts';
import { createReplayer, replayRun } from '../../src/replay/replay-run.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { nowMs } from '../record/percentiles.ts';
import { REDACTION_SALT } from './demo-corpus.ts';

export interface PassResult {
  /** Milliseconds per run, in run order. */
  perRunMs: number[];
  /** Wall time of the whole pass (includes the loop itself), ms. */
  wallMs: number;
  /** CPU time of the process over the pass (user + system, all threads), ms. */
  cpuMs: number;
  failures: string[];
  /** Events served by the replays (retrial arm only). */
  served: number;
}

export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * A store as a new process would have it: a fresh connection (empty pack cache) and no cached blobs
 * remembered from an earlier pass. Within the pass, runs share what they share (the system
 * prompt, the tool schemas), as they would in one `retrial` process replaying many runs.
 */
export async function openCold(dbPath: string): Promise<Store> {
  forgetCachedBlobs();
  forgetRedactionMemos();
  return openSqliteStore(dbPath);
}

/** `replayer`: one replayer (one agent) for the pass; `per-run`: replayRun, an agent per replay. */
export type ReplayMode = 'replayer' | 'per-run';

export async function replayPass(dbPath: string, runIds: readonly string[], mode: ReplayMode = 'replayer'): Promise<PassResult> {
  const store = await openCold(dbPath);
  try {
    return await replayRuns(store, runIds, mode);
  } finally {
    await store.close();
  }
}

/**
 * The same runs replayed again by a process that has just replayed them: the store connection
 * and its inflated packs, and the cached blobs, are still there. This is replaying an incident
 * over and over (a determinism check, a debugging loop), not the first replay of a run.
 */
export function replayPassWarm(store: Store, runIds: readonly string[]): Promise<PassResult> {
  return replayRuns(store, runIds, 'replayer');
}

async function replayRuns(store: Store, runIds: readonly string[], mode: ReplayMode): Promise<PassResult> {
  const options = { store, agent: supportAgent as never, redactionSalt: REDACTION_SALT };
  const replayer = createReplayer(options);
  const perRunMs: number[] = [];
  const failures: string[] = [];
  let served = 0;
  const cpu = process.cpuUsage();
  const started = nowMs();
  for (const runId of runIds) {
    const before = nowMs();
    const result = mode === 'replayer' ? await replayer.replay(runId) : await replayRun({ ...options, runId });
    perRunMs.push(nowMs() - before);
    served += result.served;
    if (!result.ok) {
      const first = result.divergences[0];
      failures.push(`${runId}: ${first ? `${first.code} at ${first.causalKey}: ${first.message}` : 'not ok, no divergence listed'}`);
    }
  }
  return { perRunMs, wallMs: nowMs() - started, cpuMs: cpuMsSince(cpu), failures, served };
}

/**
 * `loadTape` alone on the same runs, as replay calls it (only the blobs a replay serves from):
 * SQLite reads, pack inflation, event parsing, blob decoding. Caches cold, as in replayPass.
 */
export async function loadTapePass(dbPath: string, runIds: readonly string[]): Promise<PassResult> {
  const store = await openCold(dbPath);
  const perRunMs: number[] = [];
  const cpu = process.cpuUsage();
  const started = nowMs();
  for (const runId of runIds) {
    const before = nowMs();
    await loadTape(store, runId, { blobs: 'served' });
    perRunMs.push(nowMs() - before);
  }
  await store.close();
  return { perRunMs, wallMs: nowMs() - started, cpuMs: cpuMsSince(cpu), failures: [], served: 0 };
}
