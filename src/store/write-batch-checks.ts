import { StoreError } from './errors.ts';
import { bundleLedgerProblems } from './ledger-chain.ts';
import type { RunBundle, StoredEvent } from './store.ts';

/** What a backend knows about a run when a batch touches it. */
export interface RunWriteState {
  eventCount: number;
  /** True once the run has an ending: a sealed run takes no more events or endings. */
  ended: boolean;
}

/**
 * Checks an append continues the run's chain position: seqs follow the stored count with no gap,
 * and the head the writer reports is the last event's hash. Every backend applies the same
 * checks so a batch that one refuses, all refuse, before anything of it lands.
 */
export function checkAppend(runId: string, state: RunWriteState | undefined, events: readonly StoredEvent[], headHash: string): void {
  if (state === undefined)
    throw new StoreError({ message: `Cannot append events to run ${runId}: the store has no such run; start the run in the same or an earlier batch.` });
  if (state.ended) throw new StoreError({ message: `Cannot append events to run ${runId}: the run has already ended.` });
  let expected = state.eventCount;
  for (const event of events) {
    if (event.seq !== expected) throw new StoreError({ message: `Cannot append event ${event.seq} to run ${runId}: the next seq is ${expected}.` });
    expected++;
  }
  const last = events[events.length - 1];
  if (last !== undefined && last.hash !== headHash)
    throw new StoreError({ message: `Cannot append to run ${runId}: the reported head hash is not the hash of event ${last.seq}.` });
}

/** Checks a run can take an ending. */
export function checkEnding(runId: string, state: RunWriteState | undefined): void {
  if (state === undefined) throw new StoreError({ message: `Cannot end run ${runId}: the store has no such run.` });
  if (state.ended) throw new StoreError({ message: `Cannot end run ${runId}: it has already ended.` });
}

/** Run clock at start in ms since epoch, from the header's ISO-8601 `recordedAt`. */
export function recordedAtMs(runId: string, recordedAt: string): number {
  const ms = Date.parse(recordedAt);
  if (Number.isNaN(ms)) throw new StoreError({ message: `Cannot store run ${runId}: header.recordedAt "${recordedAt}" is not an ISO-8601 time.` });
  return ms;
}

/**
 * Checks a bundle is internally consistent before any of it is written: its events continue from
 * nothing to its head, and its ledger rows are its own run's and say what its events say.
 */
export function checkBundle(bundle: RunBundle): void {
  const runId = bundle.run.header.runId;
  if (bundle.events.length !== bundle.run.eventCount) {
    throw new StoreError({ message: `Cannot import run ${runId}: it records ${bundle.run.eventCount} events but the bundle holds ${bundle.events.length}.` });
  }
  checkAppend(runId, { eventCount: 0, ended: false }, bundle.events, bundle.run.headHash);
  const [problem] = bundleLedgerProblems({ ...bundle, decisions: bundle.decisions as unknown as Array<Record<string, unknown>> });
  if (problem) throw new StoreError({ message: `Cannot import run ${runId}: ${problem.message}.` });
}
