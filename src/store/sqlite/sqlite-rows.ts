import { type DecisionRowOf, decisionParametersWith, parseRunColumn, type RunRowOf } from '../stored-rows.ts';

export { DECISION_COLUMNS, decisionFromRow, HEX64, hashBytes, parseRunColumn, RUN_COLUMNS, runFromRow } from '../stored-rows.ts';

/** A run row as SQLite gives it: models served as JSON text. */
export type RunRow = RunRowOf<string>;

/** A decision row as SQLite gives it: `reversible` as 0 or 1. */
export type DecisionRow = DecisionRowOf<number>;

/** The models served a run's row lists. */
export function modelsServedFromRow(row: Pick<RunRow, 'run_id' | 'models_served'>): string[] {
  return parseRunColumn(row.run_id, 'models served (runs.models_served)', row.models_served) as string[];
}

/** better-sqlite3 binds Buffers as BLOBs; a plain Uint8Array is wrapped without copying. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Positional parameters for DECISION_COLUMNS, `reversible` as 0 or 1. */
export const decisionParameters = decisionParametersWith((value) => (value ? 1 : 0));
