import { type DecisionRowOf, decisionParametersWith, type RunRowOf } from '../stored-rows.ts';

export {
  DECISION_COLUMNS,
  decisionFromRow,
  hashBytes,
  parseRunColumn,
  RUN_COLUMNS,
  runFromRow,
} from '../stored-rows.ts';

/** A run row as PostgreSQL gives it: models served as a text array. */
export type RunRow = RunRowOf<string[]>;

/** A decision row as PostgreSQL gives it: `reversible` as a boolean. */
export type DecisionRow = DecisionRowOf<boolean>;

/** Positional parameters for DECISION_COLUMNS. */
export const decisionParameters = decisionParametersWith((value) => value);

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
