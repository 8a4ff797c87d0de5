import { canonicalJson, type RunEnding, type RunHeader, type RunRecord, type RunStatus } from '../../tape/index.ts';
import { parseRunColumn } from '../sqlite/sqlite-rows.ts';
import type { DecisionRecord } from '../store.ts';

export { parseRunColumn };

/** Column list of `runs` that `runFromRow` reads. */
export const RUN_COLUMNS = 'run_id, status, header_json, root_hash, head_hash, seal_hash, event_count, ending_json, models_served';

export interface RunRow {
  run_id: string;
  status: RunStatus;
  header_json: string;
  root_hash: string;
  head_hash: string;
  seal_hash: string | null;
  event_count: number;
  ending_json: string | null;
  models_served: string[];
}

export function runFromRow(row: RunRow): RunRecord {
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

export const DECISION_COLUMNS =
  'decision_id, run_id, seq, agent, type, subject, value, amount, currency, reversible, effective_at, recorded_at, model_served, attributes_json, supersedes';

/** PostgreSQL array types of DECISION_COLUMNS, in order, for inserts through unnest. */
export const DECISION_ARRAY_TYPES = [
  'text[]',
  'text[]',
  'integer[]',
  'text[]',
  'text[]',
  'text[]',
  'text[]',
  'float8[]',
  'text[]',
  'boolean[]',
  'float8[]',
  'float8[]',
  'text[]',
  'text[]',
  'text[]',
];

export interface DecisionRow {
  decision_id: string;
  run_id: string;
  seq: number;
  agent: string;
  type: string;
  subject: string;
  value: string;
  amount: number | null;
  currency: string | null;
  reversible: boolean;
  effective_at: number;
  recorded_at: number;
  model_served: string | null;
  attributes_json: string;
  supersedes: string | null;
}

export function decisionFromRow(row: DecisionRow): DecisionRecord {
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
    reversible: row.reversible,
    effectiveAt: row.effective_at,
    recordedAt: row.recorded_at,
    modelServed: row.model_served,
    attributes: JSON.parse(row.attributes_json) as Record<string, string>,
    supersedes: row.supersedes,
  };
}

/** Positional parameters for DECISION_COLUMNS. */
export function decisionParameters(decision: DecisionRecord): unknown[] {
  return [
    decision.decisionId,
    decision.runId,
    decision.seq,
    decision.agent,
    decision.type,
    decision.subject,
    decision.value,
    decision.amount,
    decision.currency,
    decision.reversible,
    decision.effectiveAt,
    decision.recordedAt,
    decision.modelServed,
    canonicalJson(decision.attributes),
    decision.supersedes,
  ];
}

/**
 * Columns of many rows as one array parameter each, for `INSERT ... SELECT * FROM unnest(...)`:
 * a batch of any size is one statement and one round trip, under the 65,535-parameter limit.
 */
export function columnsOf(rows: readonly unknown[][], width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) for (let column = 0; column < width; column++) (columns[column] as unknown[]).push(row[column]);
  return columns;
}

/** `unnest($1::text[], $2::integer[], ...)` for the given array types, starting at parameter `first`. */
export function unnestOf(types: readonly string[], first = 1): string {
  return `unnest(${types.map((type, position) => `$${first + position}::${type}`).join(', ')})`;
}

/** The 64-hex form of a hash kept as bytea. */
export function hexOf(hash: Buffer): string {
  return hash.toString('hex');
}
