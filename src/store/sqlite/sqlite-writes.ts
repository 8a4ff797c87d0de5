import { canonicalJson, type RunRecord } from '../../tape/index.ts';
import type { DecisionRecord, RunBundle, RunWriter, StoredEvent, WriteBatch } from '../store.ts';
import { RUN_INSERT_COLUMNS, runParameters } from '../stored-rows.ts';
import { checkAppend, checkEnding, type RunWriteState } from '../write-batch-checks.ts';
import type { LargeBlobPlans } from './sqlite-blob-chunks.ts';
import type { StatementSource } from './sqlite-database.ts';
import { insertBlobRows, insertEventRow } from './sqlite-packing.ts';
import { DECISION_COLUMNS, decisionParameters } from './sqlite-rows.ts';

/**
 * Applies a batch; the caller wraps this in one IMMEDIATE transaction, so a check or constraint
 * failing anywhere rolls back everything the batch wrote before it. Large blobs were written
 * ahead as chunk sets (`large`); their rows, inserted here, make them visible.
 */
export function applyWriteBatch(statement: StatementSource, batch: WriteBatch, large?: LargeBlobPlans): void {
  for (const { run, writer } of batch.runsStarted) insertRun(statement, run, writer, [], 0);
  for (const append of batch.appends) {
    checkAppend(append.runId, readRunState(statement, append.runId), append.events, append.headHash);
    for (const event of append.events) insertEventRow(statement, append.runId, event);
    statement('UPDATE runs SET head_hash = ?, event_count = event_count + ?, event_bytes = event_bytes + ? WHERE run_id = ?').run(
      append.headHash,
      append.events.length,
      jsonBytes(append.events),
      append.runId,
    );
  }
  insertBlobRows(statement, batch.blobs, large);
  insertDecisions(statement, batch.decisions);
  for (const { runId, ending, sealHash, modelsServed } of batch.runsEnded) {
    checkEnding(runId, readRunState(statement, runId));
    statement('UPDATE runs SET status = ?, ending_json = ?, seal_hash = ?, models_served = ? WHERE run_id = ?').run(
      ending.status,
      canonicalJson(ending),
      sealHash,
      JSON.stringify(modelsServed),
      runId,
    );
  }
}

/** Writes a bundle unless its run is present; the caller wraps this in one transaction. */
export function applyRunImport(statement: StatementSource, bundle: RunBundle, large?: LargeBlobPlans): 'imported' | 'exists' {
  const runId = bundle.run.header.runId;
  if (readRunState(statement, runId) !== undefined) return 'exists';
  // An imported run has no writer here: if it was still recording, markAbandonedRuns closes it.
  insertRun(statement, bundle.run, null, bundle.modelsServed, jsonBytes(bundle.events));
  for (const event of bundle.events) insertEventRow(statement, runId, event);
  insertBlobRows(statement, bundle.blobs, large);
  insertDecisions(statement, bundle.decisions);
  return 'imported';
}

export function readRunState(statement: StatementSource, runId: string): RunWriteState | undefined {
  const row = statement('SELECT event_count, ending_json IS NOT NULL AS ended FROM runs WHERE run_id = ?').get(runId) as
    | { event_count: number; ended: number }
    | undefined;
  return row === undefined ? undefined : { eventCount: row.event_count, ended: row.ended === 1 };
}

function insertRun(statement: StatementSource, run: RunRecord, writer: RunWriter | null, modelsServed: readonly string[], eventBytes: number): void {
  const { header } = run;
  statement(`INSERT INTO runs (${RUN_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    ...runParameters(run, writer, modelsServed, eventBytes),
  );
  const insertExternalId = statement('INSERT INTO run_external_ids (run_id, name, value) VALUES (?, ?, ?)');
  for (const [name, value] of Object.entries(header.externalIds)) insertExternalId.run(header.runId, name, value);
}

/** UTF-8 bytes of the events' JSON, kept per run for `stats`. */
function jsonBytes(events: readonly StoredEvent[]): number {
  return events.reduce((total, event) => total + Buffer.byteLength(event.json), 0);
}

function insertDecisions(statement: StatementSource, decisions: readonly DecisionRecord[]): void {
  const placeholders = DECISION_COLUMNS.split(',')
    .map(() => '?')
    .join(', ');
  const insertDecision = statement(`INSERT INTO decisions (${DECISION_COLUMNS}) VALUES (${placeholders})`);
  for (const decision of decisions) insertDecision.run(...decisionParameters(decision));
}
