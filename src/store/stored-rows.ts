import { canonicalJson, type RunEnding, type RunHeader, type RunRecord, type RunStatus } from '../tape/index.ts';
import { StoreError } from './errors.ts';
import type { DecisionRecord, RunWriter } from './store.ts';
import { recordedAtMs } from './write-batch-checks.ts';

/**
 * The rows both SQL backends keep for runs and the decision ledger, and their mapping to records.
 * The backends differ only in how a column comes back (SQLite: models served as JSON text and
 * booleans as 0/1; PostgreSQL: a text array and a boolean), which the type parameters say.
 */

/** Column list of `runs` that `runFromRow` reads. */
export const RUN_COLUMNS = 'run_id, status, header_json, root_hash, head_hash, seal_hash, event_count, ending_json, models_served';

export interface RunRowOf<ModelsServed> {
  run_id: string;
  status: RunStatus;
  header_json: string;
  root_hash: string;
  head_hash: string;
  seal_hash: string | null;
  event_count: number;
  ending_json: string | null;
  models_served: ModelsServed;
}

export function runFromRow(row: RunRowOf<unknown>): RunRecord {
  return {
    header: parseRunColumn(row.run_id, 'header (runs.header_json)', row.header_json) as RunHeader,
    status: row.status,
    rootHash: row.root_hash,
    headHash: row.head_hash,
    sealHash: row.seal_hash,
    eventCount: row.event_count,
    ending: row.ending_json === null ? null : (parseRunColumn(row.run_id, 'ending (runs.ending_json)', row.ending_json) as RunEnding),
  };
}

/** The columns a new run row is inserted with, in this order (`runParameters`). */
export const RUN_INSERT_COLUMNS =
  'run_id, agent, status, recorded_at, header_json, root_hash, head_hash, seal_hash, event_count, event_bytes, ending_json, writer_pid, writer_host, parent_run_id, models_served';

/** Positional parameters for RUN_INSERT_COLUMNS; models served as JSON text. */
export function runParameters(run: RunRecord, writer: RunWriter | null | undefined, modelsServed: readonly string[], eventBytes: number): unknown[] {
  const { header } = run;
  return [
    header.runId,
    header.agent,
    run.status,
    recordedAtMs(header.runId, header.recordedAt),
    canonicalJson(header),
    run.rootHash,
    run.headHash,
    run.sealHash,
    run.eventCount,
    eventBytes,
    run.ending === null ? null : canonicalJson(run.ending),
    writer?.pid ?? null,
    writer?.host ?? null,
    header.fork?.fromRun ?? null,
    JSON.stringify(modelsServed),
  ];
}

/** A run column holding JSON; damage names the run and the column instead of a bare parser error. */
export function parseRunColumn(runId: string, column: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new StoreError({ message: `Run ${runId} is damaged: its ${column} is not valid JSON.` });
  }
}

export const HEX64 = /^[0-9a-f]{64}$/;

/** Hashes are kept as their 32 bytes, half the size of the hex text, in rows and keys alike. */
export function hashBytes(hash: string): Buffer {
  if (!HEX64.test(hash)) throw new StoreError({ message: `"${hash.slice(0, 80)}" is not a sha256 hash (64 lowercase hex digits); the write was refused.` });
  return Buffer.from(hash, 'hex');
}

export const DECISION_COLUMNS =
  'decision_id, run_id, seq, agent, type, subject, value, amount, currency, reversible, effective_at, recorded_at, model_served, attributes_json, supersedes';

export interface DecisionRowOf<Flag> {
  decision_id: string;
  run_id: string;
  seq: number;
  agent: string;
  type: string;
  subject: string;
  value: string;
  amount: number | null;
  currency: string | null;
  reversible: Flag;
  effective_at: number;
  recorded_at: number;
  model_served: string | null;
  attributes_json: string;
  supersedes: string | null;
}

export function decisionFromRow(row: DecisionRowOf<number | boolean>): DecisionRecord {
  return {
    decisionId: row.decision_id,
    runId: row.run_id,
    seq: row.seq,
    agent: row.agent,
    type: row.type,
    subject: row.subject,
    value: row.value,
    amount: row.amount,
    currency: row.currency,
    reversible: row.reversible === true || row.reversible === 1,
    effectiveAt: row.effective_at,
    recordedAt: row.recorded_at,
    modelServed: row.model_served,
    attributes: JSON.parse(row.attributes_json) as Record<string, string>,
    supersedes: row.supersedes,
  };
}

/** Positional parameters for DECISION_COLUMNS, given how the backend stores a boolean. */
export function decisionParametersWith(flag: (value: boolean) => unknown): (decision: DecisionRecord) => unknown[] {
  return (decision) => [
    decision.decisionId,
    decision.runId,
    decision.seq,
    decision.agent,
    decision.type,
    decision.subject,
    decision.value,
    decision.amount,
    decision.currency,
    flag(decision.reversible),
    decision.effectiveAt,
    decision.recordedAt,
    decision.modelServed,
    canonicalJson(decision.attributes),
    decision.supersedes,
  ];
}
