import { type RunEnding, type RunRecord, sealRun } from '../tape/index.ts';
import { deriveRunLedger } from './ledger-chain.ts';
import type { RunWriter, Store, WriteBatch, WriteOptions } from './store.ts';

/** A run whose recording stopped early, to be stored as `incomplete` with its reason. */
export interface IncompleteMark {
  /** The run as it started (header, root, no events): written first when its header never landed. */
  record: RunRecord;
  /** Status `incomplete`, with the reason in its error. */
  ending: RunEnding;
  writer: RunWriter;
}

/**
 * Stores a degraded run as `incomplete`, sealing what the store holds of it (its header may never
 * have landed). A run that already ended, or whose id names another run (another root), is left
 * as it is: 'skipped'. The recorder calls this for its own runs; the collector for its clients'.
 */
export async function markRunIncomplete(store: Store, { record, ending, writer }: IncompleteMark, options?: WriteOptions): Promise<'marked' | 'skipped'> {
  const runId = record.header.runId;
  const existing = await store.getRun(runId);
  if (existing?.ending || (existing && existing.rootHash !== record.rootHash)) return 'skipped';
  const batch: WriteBatch = { runsStarted: existing ? [] : [{ run: record, writer }], appends: [], blobs: [], decisions: [], runsEnded: [] };
  // The models of the model events that reached the store, as verify and import derive them: the tape's own list may name events that never landed.
  const modelsServed = existing?.eventCount ? deriveRunLedger(existing.header, await store.getEvents(runId)).modelsServed : [];
  batch.runsEnded.push({ runId, ending, sealHash: sealRun(existing?.headHash ?? record.headHash, ending), modelsServed });
  await store.write(batch, options);
  return 'marked';
}
