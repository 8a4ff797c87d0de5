import type { RunHeader, RunRecord, StoredBlob } from '../../tape/index.ts';
import { StoreError } from '../errors.ts';
import { collectRunBlobRefs } from '../run-blob-refs.ts';
import type { DecisionFilter, DecisionRecord, RunBundle, RunFilter, RunSummary, StoredEvent, StoredTape, StoreStats } from '../store.ts';
import type { PgPoolLike } from './postgres-database.ts';
import { decisionFilterCondition, pageClause, runQuery } from './postgres-filters.ts';
import {
  inflatePack,
  PACK_COLUMNS,
  PACK_JOIN,
  type PackCache,
  packRowOf,
  parseRunPack,
  readBlobsPacked,
  readEventRows,
  unreadablePackEvents,
} from './postgres-packing.ts';
import { DECISION_COLUMNS, type DecisionRow, decisionFromRow, parseRunColumn, RUN_COLUMNS, type RunRow, runFromRow } from './postgres-rows.ts';

type Queryable = Pick<PgPoolLike, 'query'>;

export async function readRun(queryable: Queryable, runId: string): Promise<RunRecord | undefined> {
  const result = await queryable.query(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
  const row = result.rows[0] as RunRow | undefined;
  return row === undefined ? undefined : runFromRow(row);
}

/**
 * A run with its events, from its pack when it has one: one round trip for a finished run (the
 * run row joined to its pack), two for one still recording (the row, then its event rows).
 */
export async function readRunWithEvents(
  queryable: Queryable,
  cache: PackCache,
  runId: string,
): Promise<{ row: RunRow; events: StoredEvent[]; blobs: Map<string, StoredBlob>; eventsValidUnder?: number } | undefined> {
  // The run row and its event rows are two statements: packing may commit between them and move
  // the rows into the pack. Then fewer rows than the run counts come back, and the run is read
  // again (now packed); a run's rows only ever move into its pack once, so this settles.
  for (let attempt = 1; ; attempt++) {
    const read = await readRunOnce(queryable, cache, runId);
    if (read !== 'moved-into-pack') return read;
    if (attempt === 3) throw new StoreError({ message: `Run ${runId} kept changing while it was read; try again.` });
  }
}

async function readRunOnce(
  queryable: Queryable,
  cache: PackCache,
  runId: string,
): Promise<{ row: RunRow; events: StoredEvent[]; blobs: Map<string, StoredBlob>; eventsValidUnder?: number } | undefined | 'moved-into-pack'> {
  const result = await queryable.query(
    `SELECT ${RUN_COLUMNS.split(', ')
      .map((column) => `r.${column}`)
      .join(', ')}, r.packed, ${PACK_COLUMNS} FROM runs r LEFT JOIN run_packs p ON p.run_id = r.run_id ${PACK_JOIN} WHERE r.run_id = $1`,
    [runId],
  );
  const row = result.rows[0] as (RunRow & { packed: boolean }) | undefined;
  if (row === undefined) return undefined;
  if (!row.packed) {
    const events = await readEventRows(queryable, runId);
    return events.length < row.event_count ? 'moved-into-pack' : { row, events, blobs: new Map() };
  }
  // A run's own pack is read once per load: not kept in the cache (its keyframe is).
  const inflated = inflatePack(packRowOf(result.rows[0] as Record<string, unknown>), cache);
  const parsed = inflated instanceof Error ? undefined : parseRunPack(inflated, row.event_count);
  if (parsed === undefined)
    return {
      row,
      events: unreadablePackEvents(runId, row.event_count, inflated instanceof Error ? inflated.message : 'its index does not fit it'),
      blobs: new Map(),
    };
  return { row, ...parsed };
}

export async function readTape(queryable: Queryable, cache: PackCache, runId: string): Promise<StoredTape | undefined> {
  const read = await readRunWithEvents(queryable, cache, runId);
  if (read === undefined) return undefined;
  return {
    run: runFromRow(read.row),
    eventTexts: read.events.map((event) => event.json),
    blobs: read.blobs,
    modelsServed: read.row.models_served,
    ...(read.eventsValidUnder === undefined ? {} : { eventsValidUnder: read.eventsValidUnder }),
  };
}

/** The SQL of a runs page (exported for the plan test). */
export function runPageSql(filter: RunFilter): { sql: string; parameters: unknown[] } {
  const query = runQuery(filter);
  const page = pageClause(filter, query.parameters.length);
  const direction = filter.order === 'asc' ? 'ASC' : 'DESC';
  const distinct = query.distinct ? `DISTINCT ON (${query.time}, ${query.id}) ` : '';
  const columns = 'r.run_id, r.agent, r.status, r.recorded_at, r.event_count, r.header_json, r.models_served, r.parent_run_id';
  return {
    sql: `SELECT ${distinct}${columns} FROM ${query.from} ${query.where} ORDER BY ${query.time} ${direction}, ${query.id} ${direction} ${page.where}`,
    parameters: [...query.parameters, ...page.parameters],
  };
}

/**
 * The SQL of a count (exported for the plan test). Bounded at `upTo`, it reads at most that many
 * matches, in the page's order: the same index walk as the page, which stops at the bound, where
 * an unordered LIMIT lets the planner pick a scan that a narrow filter makes read every run.
 */
export function runCountSql(filter: RunFilter, upTo?: number): { sql: string; parameters: unknown[] } {
  const query = runQuery(filter);
  const distinct = query.distinct ? `DISTINCT ON (${query.time}, ${query.id}) ` : '';
  if (upTo === undefined)
    return { sql: `SELECT COUNT(*) AS count FROM (SELECT ${distinct}1 FROM ${query.from} ${query.where}) matching`, parameters: query.parameters };
  return {
    sql: `SELECT COUNT(*) AS count FROM (SELECT ${distinct}1 FROM ${query.from} ${query.where} ORDER BY ${query.time} DESC, ${query.id} DESC LIMIT $${query.parameters.length + 1}) bounded`,
    parameters: [...query.parameters, upTo],
  };
}

export async function readRunSummaries(queryable: Queryable, filter: RunFilter): Promise<RunSummary[]> {
  const { sql, parameters } = runPageSql(filter);
  const rows = (await queryable.query(sql, parameters)).rows;
  const decisionsByRun = new Map<string, Array<{ type: string; value: string }>>();
  if (rows.length) {
    const decisions = await queryable.query('SELECT run_id, type, value FROM decisions WHERE run_id = ANY($1::text[]) ORDER BY run_id, seq', [
      rows.map((row) => row.run_id),
    ]);
    for (const { run_id: runId, type, value } of decisions.rows as Array<{ run_id: string; type: string; value: string }>) {
      const list = decisionsByRun.get(runId);
      if (list === undefined) decisionsByRun.set(runId, [{ type, value }]);
      else list.push({ type, value });
    }
  }
  return rows.map((row) => ({
    runId: row.run_id as string,
    agent: row.agent as string,
    status: row.status as RunSummary['status'],
    recordedAt: row.recorded_at as number,
    eventCount: row.event_count as number,
    externalIds: (parseRunColumn(row.run_id as string, 'header (runs.header_json)', row.header_json as string) as RunHeader).externalIds,
    modelsServed: row.models_served as string[],
    decisions: decisionsByRun.get(row.run_id as string) ?? [],
    parentRunId: row.parent_run_id as string | null,
  }));
}

export async function countRuns(queryable: Queryable, filter: RunFilter, upTo?: number): Promise<number> {
  const { sql, parameters } = runCountSql(filter, upTo);
  const result = await queryable.query(sql, parameters);
  return Number(result.rows[0]?.count);
}

/** The ledger in valid-time order. */
export async function readDecisions(queryable: Queryable, filter: DecisionFilter): Promise<DecisionRecord[]> {
  const condition = decisionFilterCondition(filter);
  const page = pageClause(filter, condition.parameters.length);
  const sql = `SELECT ${DECISION_COLUMNS} FROM decisions d ${condition.where} ORDER BY d.effective_at, d.run_id, d.seq, d.decision_id ${page.where}`;
  return ((await queryable.query(sql, [...condition.parameters, ...page.parameters])).rows as unknown as DecisionRow[]).map(decisionFromRow);
}

/** A run with everything it references; the caller runs this inside one repeatable-read transaction. */
export async function readBundle(queryable: Queryable, cache: PackCache, runId: string): Promise<RunBundle | undefined> {
  const read = await readRunWithEvents(queryable, cache, runId);
  if (read === undefined) return undefined;
  const run = runFromRow(read.row);
  const known = new Map<string, StoredBlob>(read.blobs);
  const tried = new Set<string>(known.keys());
  // Walks the refs with what is known so far; each round fetches the blobs the walk missed, in one
  // round trip, until a walk misses nothing it has not tried (a blob the store lacks stays out).
  let refs: string[];
  for (;;) {
    const missed = new Set<string>();
    refs = collectRunBlobRefs(run, read.events, (hash) => {
      const blob = known.get(hash);
      if (blob === undefined && !tried.has(hash)) missed.add(hash);
      return blob;
    });
    if (missed.size === 0) break;
    const fetched = await readBlobsPacked(queryable, cache, [...missed]);
    for (const hash of missed) {
      tried.add(hash);
      const blob = fetched.get(hash);
      if (blob) known.set(hash, blob);
    }
  }
  // Copies: a packed blob's data is a view into its whole inflated pack, and a bundle lives on.
  const blobs = refs.flatMap((hash) => {
    const blob = known.get(hash);
    return blob ? [{ ...blob, data: Buffer.from(blob.data) }] : [];
  });
  const decisionRows = await queryable.query(`SELECT ${DECISION_COLUMNS} FROM decisions WHERE run_id = $1 ORDER BY seq, decision_id`, [runId]);
  return {
    run,
    events: read.events,
    blobs,
    decisions: (decisionRows.rows as unknown as DecisionRow[]).map(decisionFromRow),
    modelsServed: read.row.models_served,
  };
}

/** Counts and sizes; event totals come from per-run columns, so stats never scans events. */
export async function readStats(queryable: Queryable): Promise<Omit<StoreStats, 'fileBytes'>> {
  const byStatus = (await queryable.query('SELECT status, COUNT(*) AS count FROM runs GROUP BY status ORDER BY status')).rows as Array<{
    status: string;
    count: number;
  }>;
  const events = (await queryable.query('SELECT COALESCE(SUM(event_count), 0) AS events, COALESCE(SUM(event_bytes), 0) AS bytes FROM runs')).rows[0] as {
    events: number;
    bytes: number;
  };
  const blobs = (
    await queryable.query(
      `SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS raw,
         COALESCE(SUM(length(data)), 0) + (SELECT COALESCE(SUM(length(data)), 0) FROM run_packs) + (SELECT COALESCE(SUM(octet_length(json)), 0) FROM events) AS stored
       FROM blobs`,
    )
  ).rows[0] as { count: number; raw: number; stored: number };
  const decisions = (await queryable.query('SELECT type, value, COUNT(*) AS count FROM decisions GROUP BY type, value ORDER BY type, value')).rows as Array<{
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
