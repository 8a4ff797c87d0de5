import type { RunHeader, RunRecord, RunStatus, StoredBlob } from '../../tape/index.ts';
import { collectRunBlobRefs } from '../run-blob-refs.ts';
import type { DecisionFilter, DecisionRecord, RunBundle, RunFilter, RunSummary, StoredTape, StoreStats } from '../store.ts';
import type { StatementSource } from './sqlite-database.ts';
import { decisionFilterCondition, pageClause, runQuery } from './sqlite-filters.ts';
import { readBlobsPacked, readEventRows, readRunPack } from './sqlite-packing.ts';
import {
  DECISION_COLUMNS,
  type DecisionRow,
  decisionFromRow,
  modelsServedFromRow,
  parseRunColumn,
  RUN_COLUMNS,
  type RunRow,
  runFromRow,
} from './sqlite-rows.ts';

/** The columns listRuns reads: enough for a summary, not the chain values. */
interface ListedRunRow {
  run_id: string;
  agent: string;
  status: RunStatus;
  recorded_at: number;
  event_count: number;
  header_json: string;
  models_served: string;
  parent_run_id: string | null;
}

export function readRun(statement: StatementSource, runId: string): RunRecord | undefined {
  const row = statement(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`).get(runId) as RunRow | undefined;
  return row === undefined ? undefined : runFromRow(row);
}

/** A run for replay: from its run pack when it has one (sqlite-packing.ts), else from its rows. */
export function readTape(statement: StatementSource, runId: string): StoredTape | undefined {
  const row = statement(`SELECT ${RUN_COLUMNS}, run_pack_id FROM runs WHERE run_id = ?`).get(runId) as (RunRow & { run_pack_id: number | null }) | undefined;
  if (row === undefined) return undefined;
  const run = runFromRow(row);
  // 0 marks a run recorded before run packs (migration 5): it has none.
  const packed = row.run_pack_id ? readRunPack(statement, row.run_pack_id, row.event_count) : undefined;
  return {
    run,
    ...(packed ?? { eventTexts: readEventRows(statement, runId).map((event) => event.json), blobs: new Map() }),
    modelsServed: modelsServedFromRow(row),
  };
}

/** A statement's text and parameters. */
export interface SqlQuery {
  sql: string;
  parameters: unknown[];
}

/** The SELECT of a `runs` page (exported for the query-plan test). */
export function runPageQuery(filter: RunFilter): SqlQuery {
  const query = runQuery(filter);
  const page = pageClause(filter);
  const direction = filter.order === 'asc' ? 'ASC' : 'DESC';
  const columns = 'r.run_id, r.agent, r.status, r.recorded_at, r.event_count, r.header_json, r.models_served, r.parent_run_id';
  return {
    sql: `SELECT ${query.distinct ? 'DISTINCT ' : ''}${columns} FROM ${query.from} ${query.where} ORDER BY ${query.time} ${direction}, ${query.id} ${direction} ${page.where}`,
    parameters: [...query.parameters, ...page.parameters],
  };
}

/**
 * How many runs match, counting at most `upTo` when given (the answer is then at most `upTo`):
 * the count walks the same index a page does, so a bound keeps it as fast as the page on any store.
 */
export function runCountQuery(filter: RunFilter, upTo?: number): SqlQuery {
  const query = runQuery(filter);
  const matches = `SELECT ${query.distinct ? `DISTINCT ${query.id}` : '1'} FROM ${query.from} ${query.where}`;
  if (upTo === undefined) return { sql: `SELECT COUNT(*) AS count FROM (${matches})`, parameters: query.parameters };
  return { sql: `SELECT COUNT(*) AS count FROM (${matches} LIMIT ?)`, parameters: [...query.parameters, Math.max(0, Math.floor(upTo))] };
}

export function readRunSummaries(statement: StatementSource, filter: RunFilter): RunSummary[] {
  const { sql, parameters } = runPageQuery(filter);
  const rows = statement(sql).all(...parameters) as ListedRunRow[];
  const decisions = statement('SELECT run_id, type, value FROM decisions WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, seq').all(
    JSON.stringify(rows.map((row) => row.run_id)),
  ) as Array<{ run_id: string; type: string; value: string }>;
  const decisionsByRun = new Map<string, Array<{ type: string; value: string }>>();
  for (const { run_id: runId, type, value } of decisions) {
    const list = decisionsByRun.get(runId);
    if (list === undefined) decisionsByRun.set(runId, [{ type, value }]);
    else list.push({ type, value });
  }
  return rows.map((row) => ({
    runId: row.run_id,
    agent: row.agent,
    status: row.status,
    recordedAt: row.recorded_at,
    eventCount: row.event_count,
    externalIds: (parseRunColumn(row.run_id, 'header (runs.header_json)', row.header_json) as RunHeader).externalIds,
    modelsServed: modelsServedFromRow(row),
    decisions: decisionsByRun.get(row.run_id) ?? [],
    parentRunId: row.parent_run_id,
  }));
}

export function countRuns(statement: StatementSource, filter: RunFilter, upTo?: number): number {
  const { sql, parameters } = runCountQuery(filter, upTo);
  return (statement(sql).get(...parameters) as { count: number }).count;
}

/** The ledger in valid-time order. */
export function readDecisions(statement: StatementSource, filter: DecisionFilter): DecisionRecord[] {
  const condition = decisionFilterCondition(filter);
  const page = pageClause(filter);
  const sql = `SELECT ${DECISION_COLUMNS} FROM decisions d ${condition.where} ORDER BY d.effective_at, d.run_id, d.seq, d.decision_id ${page.where}`;
  return (statement(sql).all(...condition.parameters, ...page.parameters) as DecisionRow[]).map(decisionFromRow);
}

/** A run with everything it references; the caller runs this inside one read transaction. */
export function readBundle(statement: StatementSource, runId: string): RunBundle | undefined {
  const row = statement(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`).get(runId) as RunRow | undefined;
  if (row === undefined) return undefined;
  const run = runFromRow(row);
  const events = readEventRows(statement, runId);
  // Walking the refs reads every blob once; keep what the walk read instead of reading it again.
  const read = new Map<string, StoredBlob>();
  const refs = collectRunBlobRefs(run, events, (hash) => {
    const found = readBlobsPacked(statement, [hash]).get(hash);
    // A copy: a packed blob's data is a view into its whole inflated pack, and a bundle lives on.
    const blob = found && { ...found, data: Buffer.from(found.data) };
    if (blob) read.set(hash, blob);
    return blob;
  });
  const blobs = refs.flatMap((hash) => read.get(hash) ?? []);
  const decisionRows = statement(`SELECT ${DECISION_COLUMNS} FROM decisions WHERE run_id = ? ORDER BY seq, decision_id`).all(runId) as DecisionRow[];
  return { run, events, blobs, decisions: decisionRows.map(decisionFromRow), modelsServed: modelsServedFromRow(row) };
}

/**
 * Counts and sizes. Event totals come from per-run columns kept in the write transaction, so
 * stats never scans the events table.
 */
export function readStats(statement: StatementSource): Omit<StoreStats, 'fileBytes'> {
  const byStatus = statement('SELECT status, COUNT(*) AS count FROM runs GROUP BY status ORDER BY status').all() as Array<{ status: string; count: number }>;
  const events = statement('SELECT COALESCE(SUM(event_count), 0) AS events, COALESCE(SUM(event_bytes), 0) AS bytes FROM runs').get() as {
    events: number;
    bytes: number;
  };
  const blobs = statement(
    'SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS raw, COALESCE(SUM(length(data)), 0) + (SELECT COALESCE(SUM(length(data)), 0) FROM packs) + (SELECT COALESCE(SUM(length(json)), 0) FROM events WHERE pack_id IS NULL) + (SELECT COALESCE(SUM(length(data)), 0) FROM blob_chunks WHERE chunk_set NOT IN (SELECT chunk_set FROM blob_chunk_sets)) AS stored FROM blobs',
  ).get() as {
    count: number;
    raw: number;
    stored: number;
  };
  const decisions = statement('SELECT type, value, COUNT(*) AS count FROM decisions GROUP BY type, value ORDER BY type, value').all() as Array<{
    type: string;
    value: string;
    count: number;
  }>;
  return {
    runs: byStatus.reduce((total, row) => total + row.count, 0),
    runsByStatus: Object.fromEntries(byStatus.map((row) => [row.status, row.count])),
    events: events.events,
    blobs: blobs.count,
    blobBytesRaw: blobs.raw,
    eventBytesRaw: events.bytes,
    contentBytesStored: blobs.stored,
    decisions,
  };
}
