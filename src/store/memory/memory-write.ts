import type { RunRecord } from '../../tape/index.ts';
import { StoreError } from '../errors.ts';
import type { RunBundle, RunWriter, StoredEvent, WriteBatch } from '../store.ts';
import { checkAppend, checkEnding, type RunWriteState, recordedAtMs } from '../write-batch-checks.ts';
import { copyBlob, copyDecision, copyRun, type MemoryRun, type MemoryTables } from './memory-run.ts';

/**
 * Stages a batch against the current tables and returns the changes, throwing before anything
 * is applied if any part is refused: the memory store's version of one SQL transaction.
 */
export function stageWriteBatch(tables: MemoryTables, batch: WriteBatch): MemoryTables {
  const staged: MemoryTables = { runs: new Map(), events: new Map(), blobs: new Map(), decisions: new Map() };
  const current = (runId: string) => staged.runs.get(runId) ?? tables.runs.get(runId);
  const editable = (runId: string) => {
    const run = staged.runs.get(runId) ?? copyRun(tables.runs.get(runId) as MemoryRun);
    staged.runs.set(runId, run);
    return run;
  };
  for (const { run, writer } of batch.runsStarted) stageRun(staged, current, run, writer, [], 0);
  for (const append of batch.appends) {
    checkAppend(append.runId, stateOf(current(append.runId)), append.events, append.headHash);
    const run = editable(append.runId);
    run.record.headHash = append.headHash;
    run.record.eventCount += append.events.length;
    run.eventBytes += stageEvents(staged, append.runId, append.events);
  }
  stageBlobsAndDecisions(staged, tables, batch);
  for (const { runId, ending, sealHash, modelsServed } of batch.runsEnded) {
    checkEnding(runId, stateOf(current(runId)));
    const run = editable(runId);
    run.record.status = ending.status;
    run.record.ending = structuredClone(ending);
    run.record.sealHash = sealHash;
    run.modelsServed = [...modelsServed];
  }
  return staged;
}

/** Stages an imported run; the caller has checked the run is absent. */
export function stageRunImport(tables: MemoryTables, bundle: RunBundle): MemoryTables {
  const staged: MemoryTables = { runs: new Map(), events: new Map(), blobs: new Map(), decisions: new Map() };
  const runId = bundle.run.header.runId;
  const bytes = stageEvents(staged, runId, bundle.events);
  stageRun(staged, (id) => staged.runs.get(id) ?? tables.runs.get(id), bundle.run, null, bundle.modelsServed, bytes);
  stageBlobsAndDecisions(staged, tables, bundle);
  return staged;
}

/** Applies staged changes; appended events join the run's existing ones. */
export function commitStaged(tables: MemoryTables, staged: MemoryTables): void {
  for (const [runId, run] of staged.runs) tables.runs.set(runId, run);
  for (const [runId, events] of staged.events) {
    const stored = tables.events.get(runId);
    if (stored === undefined) tables.events.set(runId, events);
    else for (const event of events) stored.push(event);
  }
  for (const [hash, blob] of staged.blobs) tables.blobs.set(hash, blob);
  for (const [decisionId, decision] of staged.decisions) tables.decisions.set(decisionId, decision);
}

function stateOf(run: MemoryRun | undefined): RunWriteState | undefined {
  return run === undefined ? undefined : { eventCount: run.record.eventCount, ended: run.record.ending !== null };
}

function stageRun(
  staged: MemoryTables,
  current: (runId: string) => MemoryRun | undefined,
  record: RunRecord,
  writer: RunWriter | null,
  modelsServed: readonly string[],
  eventBytes: number,
): void {
  const runId = record.header.runId;
  if (current(runId) !== undefined) throw new StoreError({ message: `Cannot start run ${runId}: the store already has a run with this id.` });
  const recordedAt = recordedAtMs(runId, record.header.recordedAt);
  staged.runs.set(runId, copyRun({ record, writer, modelsServed: [...modelsServed], recordedAtMs: recordedAt, eventBytes }));
}

/** Seqs were checked by checkAppend or checkBundle; returns the UTF-8 bytes of the events' JSON. */
function stageEvents(staged: MemoryTables, runId: string, events: readonly StoredEvent[]): number {
  const list = staged.events.get(runId) ?? [];
  staged.events.set(runId, list);
  let bytes = 0;
  for (const event of events) {
    list.push({ ...event });
    bytes += Buffer.byteLength(event.json);
  }
  return bytes;
}

function stageBlobsAndDecisions(staged: MemoryTables, tables: MemoryTables, source: Pick<WriteBatch, 'blobs' | 'decisions'>): void {
  for (const blob of source.blobs) if (!tables.blobs.has(blob.hash) && !staged.blobs.has(blob.hash)) staged.blobs.set(blob.hash, copyBlob(blob));
  for (const decision of source.decisions) {
    if (tables.decisions.has(decision.decisionId) || staged.decisions.has(decision.decisionId)) {
      throw new StoreError({ message: `Cannot record decision ${decision.decisionId}: the ledger already has a decision with this id.` });
    }
    staged.decisions.set(decision.decisionId, copyDecision(decision));
  }
}
