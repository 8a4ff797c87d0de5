import { existsSync, statSync } from 'node:fs';
import { RetrialError, type RunRecord, type StoredBlob } from '../../tape/index.ts';
import { RunNotFoundError, StoreError } from '../errors.ts';
import { collectRunBlobRefs } from '../run-blob-refs.ts';
import { suggestRunIds } from '../run-id-suggestions.ts';
import type { DecisionFilter, DecisionRecord, RunBundle, RunFilter, RunSummary, RunWriter, Store, StoreStats, StoredEvent, WriteBatch } from '../store.ts';
import { checkBundle } from '../write-batch-checks.ts';
import { isWriterAliveOnThisHost } from '../writer-liveness.ts';
import { openSqliteDatabase, type SqliteDatabaseLike, type SqliteStatementLike } from './sqlite-database.ts';
import { decisionFilterCondition, pageClause, runFilterCondition } from './sqlite-filters.ts';
import { type BlobRow, blobFromRow, DECISION_COLUMNS, type DecisionRow, decisionFromRow, EVENT_COLUMNS, RUN_COLUMNS, type RunRow, runFromRow } from './sqlite-rows.ts';
import { applyRunImport, applyWriteBatch } from './sqlite-writes.ts';

export type { SqliteDatabaseLike, SqliteStatementLike } from './sqlite-database.ts';

export interface SqliteStoreOptions {
  /** Open without writing anything: no migrations, no WAL switch; `write` throws. */
  readonly?: boolean;
}

/** The SQLite store, with checks only an embedded file can offer. */
export interface SqliteStore extends Store {
  /** Runs `PRAGMA integrity_check`; returns the problems SQLite reports, empty when the file is sound. */
  integrityCheck(): Promise<string[]>;
}

/** Opens (creating and migrating where needed) the SQLite store at `path`. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const readonly = options.readonly ?? false;
  return new SqliteBackedStore(openSqliteDatabase(path, { readonly }), path, readonly);
}

/** Highest Unicode code point: `prefix + this` sorts after every id that starts with `prefix`. */
const PREFIX_UPPER_BOUND = '\u{10FFFF}';

class SqliteBackedStore implements SqliteStore {
  readonly capabilities = { supportsSkipLocked: false, multiProcessWriters: true };
  private readonly statements = new Map<string, SqliteStatementLike>();
  private closed = false;
  private readonly writeTransaction;
  private readonly importTransaction;

  constructor(
    private readonly database: SqliteDatabaseLike,
    readonly location: string,
    private readonly readonly: boolean,
  ) {
    const statement = (sql: string) => this.statement(sql);
    this.writeTransaction = database.transaction((batch: WriteBatch) => applyWriteBatch(statement, batch));
    this.importTransaction = database.transaction((bundle: RunBundle) => applyRunImport(statement, bundle));
  }

  async write(batch: WriteBatch): Promise<void> {
    this.assertWritable('write');
    this.guard('write to', () => this.writeTransaction.immediate(batch));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.guard('read', () => this.readRun(runId));
  }

  async getRunOrThrow(runId: string): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (run === undefined) throw new RunNotFoundError({ runId, suggestions: await suggestRunIds(runId, (prefix, limit) => this.findRunIds(prefix, limit)) });
    return run;
  }

  async findRunIds(prefix: string, limit = 10): Promise<string[]> {
    const rows = this.guard('read', () =>
      this.statement('SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT ?').all(prefix, prefix + PREFIX_UPPER_BOUND, limit),
    );
    return (rows as Array<{ run_id: string }>).map((row) => row.run_id);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunSummary[]> {
    return this.guard('read', () => {
      const condition = runFilterCondition(filter);
      const page = pageClause(filter);
      const direction = filter.order === 'asc' ? 'ASC' : 'DESC';
      const sql = `SELECT r.run_id, r.agent, r.status, r.recorded_at, r.event_count, r.header_json, r.models_served, r.parent_run_id FROM runs r ${condition.where} ORDER BY r.recorded_at ${direction}, r.run_id ${direction} ${page.where}`;
      const rows = this.statement(sql).all(...condition.parameters, ...page.parameters) as Array<RunRow & { agent: string; recorded_at: number; parent_run_id: string | null }>;
      const decisions = this.statement('SELECT run_id, type, value FROM decisions WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, seq').all(
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
        externalIds: runFromRow(row).header.externalIds,
        modelsServed: JSON.parse(row.models_served) as string[],
        decisions: decisionsByRun.get(row.run_id) ?? [],
        parentRunId: row.parent_run_id,
      }));
    });
  }

  async countRuns(filter: RunFilter = {}): Promise<number> {
    const condition = runFilterCondition(filter);
    const row = this.guard('read', () => this.statement(`SELECT COUNT(*) AS count FROM runs r ${condition.where}`).get(...condition.parameters)) as { count: number };
    return row.count;
  }

  async getEvents(runId: string): Promise<StoredEvent[]> {
    return this.guard('read', () => this.readEvents(runId));
  }

  async getBlobs(hashes: readonly string[]): Promise<Map<string, StoredBlob>> {
    return this.guard('read', () => this.readBlobs(hashes));
  }

  async listDecisions(filter: DecisionFilter = {}): Promise<DecisionRecord[]> {
    const condition = decisionFilterCondition(filter);
    const page = pageClause(filter);
    const sql = `SELECT ${DECISION_COLUMNS} FROM decisions d ${condition.where} ORDER BY d.effective_at, d.run_id, d.seq, d.decision_id ${page.where}`;
    const rows = this.guard('read', () => this.statement(sql).all(...condition.parameters, ...page.parameters)) as DecisionRow[];
    return rows.map(decisionFromRow);
  }

  async listRunIds(): Promise<string[]> {
    const rows = this.guard('read', () => this.statement('SELECT run_id FROM runs ORDER BY recorded_at, run_id').all()) as Array<{ run_id: string }>;
    return rows.map((row) => row.run_id);
  }

  async markAbandonedRuns(isWriterAlive: (writer: RunWriter) => boolean = isWriterAliveOnThisHost): Promise<string[]> {
    if (this.readonly) return [];
    return this.guard('update', () => {
      const recording = this.statement("SELECT run_id, writer_pid, writer_host FROM runs WHERE status = 'recording'").all() as Array<{ run_id: string; writer_pid: number | null; writer_host: string | null }>;
      // A run without a writer came in through import: nobody in this store will ever finish it.
      const abandoned = recording.filter((row) => row.writer_pid === null || row.writer_host === null || !isWriterAlive({ pid: row.writer_pid, host: row.writer_host }));
      const mark = this.statement("UPDATE runs SET status = 'incomplete' WHERE run_id = ? AND status = 'recording'");
      const marked = this.database.transaction(() => abandoned.filter((row) => mark.run(row.run_id).changes > 0).map((row) => row.run_id));
      return marked.immediate();
    });
  }

  async getRunBundle(runId: string): Promise<RunBundle> {
    // One read transaction, so a writer in another process cannot slip events in between reads.
    const bundle = this.guard('read', () => this.database.transaction(() => this.readBundle(runId))());
    if (bundle === undefined) {
      await this.getRunOrThrow(runId);
      throw new StoreError({ message: `Run ${runId} disappeared while it was being read.` });
    }
    return bundle;
  }

  async importRunBundle(bundle: RunBundle): Promise<'imported' | 'exists'> {
    this.assertWritable('import into');
    checkBundle(bundle);
    return this.guard('import into', () => this.importTransaction.immediate(bundle));
  }

  async stats(): Promise<StoreStats> {
    return this.guard('read', () => {
      const byStatus = this.statement('SELECT status, COUNT(*) AS count FROM runs GROUP BY status ORDER BY status').all() as Array<{ status: string; count: number }>;
      const events = this.statement('SELECT COALESCE(SUM(event_count), 0) AS events, COALESCE(SUM(event_bytes), 0) AS bytes FROM runs').get() as { events: number; bytes: number };
      const blobs = this.statement('SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS raw, COALESCE(SUM(length(data)), 0) AS stored FROM blobs').get() as { count: number; raw: number; stored: number };
      const decisions = this.statement('SELECT type, value, COUNT(*) AS count FROM decisions GROUP BY type, value ORDER BY type, value').all() as Array<{ type: string; value: string; count: number }>;
      return {
        runs: byStatus.reduce((total, row) => total + row.count, 0),
        runsByStatus: Object.fromEntries(byStatus.map((row) => [row.status, row.count])),
        events: events.events,
        blobs: blobs.count,
        blobBytesRaw: blobs.raw,
        blobBytesStored: blobs.stored,
        eventBytes: events.bytes,
        fileBytes: this.fileBytes(),
        decisions,
      };
    });
  }

  async integrityCheck(): Promise<string[]> {
    const rows = this.guard('check', () => this.database.pragma('integrity_check')) as Array<{ integrity_check: string }>;
    return rows.map((row) => row.integrity_check).filter((message) => message !== 'ok');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.database.close();
  }

  private readRun(runId: string): RunRecord | undefined {
    const row = this.statement(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`).get(runId) as RunRow | undefined;
    return row === undefined ? undefined : runFromRow(row);
  }

  private readEvents(runId: string): StoredEvent[] {
    return this.statement(`SELECT ${EVENT_COLUMNS} FROM events WHERE run_id = ? ORDER BY seq`).all(runId) as StoredEvent[];
  }

  private readBlobs(hashes: readonly string[]): Map<string, StoredBlob> {
    const rows = this.statement('SELECT hash, encoding, size, data FROM blobs WHERE hash IN (SELECT value FROM json_each(?))').all(JSON.stringify(hashes)) as BlobRow[];
    return new Map(rows.map((row) => [row.hash, blobFromRow(row)]));
  }

  private readBundle(runId: string): RunBundle | undefined {
    const row = this.statement(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = ?`).get(runId) as RunRow | undefined;
    if (row === undefined) return undefined;
    const run = runFromRow(row);
    const events = this.readEvents(runId);
    const readBlob = this.statement('SELECT hash, encoding, size, data FROM blobs WHERE hash = ?');
    const refs = collectRunBlobRefs(run, events, (hash) => {
      const blobRow = readBlob.get(hash) as BlobRow | undefined;
      return blobRow === undefined ? undefined : blobFromRow(blobRow);
    });
    const blobsByHash = this.readBlobs(refs);
    const blobs = refs.flatMap((hash) => blobsByHash.get(hash) ?? []);
    const decisions = (this.statement(`SELECT ${DECISION_COLUMNS} FROM decisions WHERE run_id = ? ORDER BY seq, decision_id`).all(runId) as DecisionRow[]).map(decisionFromRow);
    return { run, events, blobs, decisions, modelsServed: JSON.parse(row.models_served) as string[] };
  }

  private fileBytes(): number | null {
    if (this.location === ':memory:') return null;
    const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);
    return sizeOf(this.location) + sizeOf(`${this.location}-wal`);
  }

  /** Prepared statements are cached by SQL text; filter queries vary only by which filters are set. */
  private statement(sql: string): SqliteStatementLike {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.database.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private assertWritable(action: string): void {
    if (this.readonly) throw new StoreError({ message: `Cannot ${action} the store at ${this.location}: it was opened readonly.` });
  }

  /** Runs a driver call, turning driver errors into a StoreError that names the store. */
  private guard<Result>(action: string, body: () => Result): Result {
    if (this.closed) throw new StoreError({ message: `Cannot ${action} the SQLite store at ${this.location}: it has been closed.` });
    try {
      return body();
    } catch (error) {
      if (RetrialError.isInstance(error)) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new StoreError({ message: `Could not ${action} the SQLite store at ${this.location}: ${detail}.`, cause: error });
    }
  }
}
