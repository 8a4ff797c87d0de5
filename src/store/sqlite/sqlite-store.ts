import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { RetrialError, type RunRecord, type StoredBlob } from '../../tape/index.ts';
import type { CampaignStore } from '../campaign-store.ts';
import { RunNotFoundError, StoreError } from '../errors.ts';
import { suggestRunIds } from '../run-id-suggestions.ts';
import type {
  CountOptions,
  DecisionFilter,
  DecisionRecord,
  RunAnalysis,
  RunBundle,
  RunFilter,
  RunSummary,
  RunWriter,
  Store,
  StoredEvent,
  StoredTape,
  StoreStats,
  WriteBatch,
  WriteOptions,
} from '../store.ts';
import { checkBundle } from '../write-batch-checks.ts';
import { isWriterAliveOnThisHost } from '../writer-liveness.ts';
import { BlobChunkWriter, chunkReader, isBusy, type LargeBlobPlans, readChunkSetInSlices } from './sqlite-blob-chunks.ts';
import { createSqliteCampaignStore } from './sqlite-campaigns.ts';
import {
  BUSY_TIMEOUT_MS,
  openSqliteDatabase,
  readSchemaVersionAt,
  type SqliteDatabaseLike,
  type SqliteStatementLike,
  type StatementSource,
} from './sqlite-database.ts';
import { LATEST_SCHEMA_VERSION, SQLITE_MIGRATIONS } from './sqlite-migrations.ts';
import {
  DEFAULT_RUN_PACK_LIMITS,
  type DeflatedRunPack,
  deflateRunPack,
  planRunPack,
  type RunPackLimits,
  type RunPackPlan,
  readBlobRows,
  readEventRows,
  settleRunPacks,
  storedBlobOfRow,
  storeRunPack,
} from './sqlite-packing.ts';
import { countRuns, readBundle, readDecisions, readRun, readRunSummaries, readStats, readTape } from './sqlite-reads.ts';
import { applyRunImport, applyWriteBatch, readRunState } from './sqlite-writes.ts';

export type { SqliteDatabaseLike, SqliteStatementLike } from './sqlite-database.ts';
export type { RunPackLimits } from './sqlite-packing.ts';

export interface SqliteStoreOptions {
  /** Open without writing anything: no migrations, no WAL switch; `write` throws. */
  readonly?: boolean;
  /** How large a finished run's pack may grow before its blobs overflow into more packs (8 MB and 4 MB by default). */
  runPackLimits?: RunPackLimits;
}

/** The SQLite store, with checks only an embedded file can offer. */
export interface SqliteStore extends Store {
  /** Runs `PRAGMA integrity_check`; returns the problems SQLite reports, empty when the file is sound. */
  integrityCheck(): Promise<string[]>;
  /** Resolves once the runs ended so far are packed (or left in their rows); `close` waits for this too. */
  idle(): Promise<void>;
}

/** Opens (creating and migrating where needed) the SQLite store at `path`. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const readonly = options.readonly ?? false;
  return new SqliteBackedStore(openSqliteDatabase(path, { readonly }), path, readonly, options.runPackLimits ?? DEFAULT_RUN_PACK_LIMITS);
}

/**
 * Runs the migrations a SQLite store needs (opening one migrates it too) and says which it
 * applied; for `retrial migrate`.
 */
export async function migrateSqliteStore(path: string): Promise<{ applied: number[]; version: number }> {
  const before = existsSync(path) && statSync(path).size > 0 ? readSchemaVersionAt(path) : 0;
  const store = await openSqliteStore(path);
  await store.close();
  const applied = SQLITE_MIGRATIONS.map((migration) => migration.version).filter((version) => version > before);
  return { applied, version: LATEST_SCHEMA_VERSION };
}

/** How long a pack waits for another process's write lock, ms, and how often it comes back (50 ms doubling: about 25 s in all) before leaving the run to the next open. */
const PACK_LOCK_WAIT_MS = 5;
const PACK_LOCK_RETRIES = 9;

const NO_LARGE_BLOBS: LargeBlobPlans = new Map();

/** Highest Unicode code point: `prefix + this` sorts after every id that starts with `prefix`. */
const PREFIX_UPPER_BOUND = '\u{10FFFF}';

class SqliteBackedStore implements SqliteStore {
  readonly capabilities = { supportsSkipLocked: false, multiProcessWriters: true };
  private readonly statements = new Map<string, SqliteStatementLike>();
  private closed = false;
  /** Packs queued after writes; never rejects (packRun keeps its failures to itself). */
  private packing: Promise<void> = Promise.resolve();
  /** The statement cache as a function, for the read and write helpers. */
  private readonly statementSource: StatementSource = (sql) => this.statement(sql);
  private readonly writeTransaction;
  private readonly importTransaction;
  private readonly packTransaction;
  /** Writes large blobs as chunk sets ahead of the batch that makes them visible. */
  private readonly chunks: BlobChunkWriter;
  readonly campaigns: CampaignStore;
  readonly file: string | undefined;

  constructor(
    private readonly database: SqliteDatabaseLike,
    readonly location: string,
    private readonly readonly: boolean,
    private readonly runPackLimits: RunPackLimits,
  ) {
    this.file = location === ':memory:' ? undefined : resolve(location);
    this.writeTransaction = database.transaction((batch: WriteBatch, large: LargeBlobPlans) => applyWriteBatch(this.statementSource, batch, large));
    this.importTransaction = database.transaction((bundle: RunBundle, large: LargeBlobPlans) => applyRunImport(this.statementSource, bundle, large));
    this.chunks = new BlobChunkWriter({
      statement: this.statementSource,
      transact: (lockWaitMs, body) => this.guard('write to', () => this.withLockWait(lockWaitMs, () => database.transaction(body).immediate())),
      background: (work) => {
        this.packing = this.packing.then(work);
      },
      isClosed: () => this.closed,
    });
    this.packTransaction = database.transaction((plan: RunPackPlan, deflated: DeflatedRunPack) => storeRunPack(this.statementSource, plan, deflated));
    this.campaigns = createSqliteCampaignStore(database, this.statementSource, (action, body) => this.guard(action, body));
  }

  /**
   * Large blobs are written first, as chunks in short transactions of their own with turns of the
   * event loop between them (sqlite-blob-chunks.ts); the rest of the batch, and the blob rows that
   * make those chunks visible, commit in one transaction after.
   */
  async write(batch: WriteBatch, options: WriteOptions = {}): Promise<void> {
    this.assertWritable('write');
    // Most batches hold no large blob: no await, so such a write commits within the caller's turn as before.
    const large = this.chunks.holdsLarge(batch.blobs) ? await this.chunks.prepare(batch.blobs, options.lockWaitMs) : NO_LARGE_BLOBS;
    try {
      this.guard('write to', () => this.withLockWait(options.lockWaitMs, () => this.writeTransaction.immediate(batch, large)));
    } catch (error) {
      this.chunks.settle(large, isBusy(error) ? 'retry' : 'failed');
      throw error;
    }
    this.chunks.settle(large, 'committed');
    this.queuePacks(batch.runsEnded.map((ended) => ended.runId));
  }

  /**
   * Runs `body` with SQLite's busy timeout set to `lockWaitMs` (the connection's setting, put back
   * after): better-sqlite3 waits out the timeout synchronously, on the event loop.
   */
  private withLockWait<Result>(lockWaitMs: number | undefined, body: () => Result): Result {
    if (lockWaitMs === undefined || lockWaitMs === BUSY_TIMEOUT_MS) return body();
    this.database.pragma(`busy_timeout = ${Math.max(0, Math.floor(lockWaitMs))}`);
    try {
      return body();
    } finally {
      this.database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async idle(): Promise<void> {
    await this.packing;
  }

  /**
   * Packs runs that will get no more events, one after another behind any packs in flight.
   * `write` does not wait: a recorder's flush at the end of a run must not wait for the run's
   * packing. `close` and `idle` do.
   */
  private queuePacks(runIds: readonly string[]): void {
    if (runIds.length === 0 || this.readonly) return;
    this.packing = this.packing.then(async () => {
      for (const runId of runIds) await this.packRun(runId);
    });
  }

  /**
   * Packs one run (sqlite-packing.ts) after what ended it committed: the deflate runs on the
   * thread pool and the write lock is held only to point rows into the pack. Best effort by
   * design: a run left unpacked reads from its rows, verify still checks it, and the next open
   * packs it (markAbandonedRuns).
   */
  private async packRun(runId: string, attempt = 0): Promise<void> {
    if (this.closed) return;
    try {
      const plan = this.database.transaction(() => planRunPack(this.statementSource, runId, this.runPackLimits))();
      if (plan === null) return;
      const deflated = await deflateRunPack(this.statementSource, plan);
      if (this.closed) return;
      // Packing runs in the background of whoever wrote (a recording service): it must not hold
      // the event loop while another process has the write lock, so it waits a few ms and comes back.
      this.withLockWait(PACK_LOCK_WAIT_MS, () => this.packTransaction.immediate(plan, deflated));
      settleRunPacks(this.statementSource, true);
    } catch (error) {
      settleRunPacks(this.statementSource, false);
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY' && attempt < PACK_LOCK_RETRIES) {
        const retry = () => {
          if (!this.closed) this.packing = this.packing.then(() => this.packRun(runId, attempt + 1));
        };
        setTimeout(retry, 50 * 2 ** attempt).unref();
      }
    }
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.guard('read', () => readRun(this.statementSource, runId));
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
    return this.guard('read', () => readRunSummaries(this.statementSource, filter));
  }

  async countRuns(filter: RunFilter = {}, options: CountOptions = {}): Promise<number> {
    return this.guard('read', () => countRuns(this.statementSource, filter, options.upTo));
  }

  async getEvents(runId: string): Promise<StoredEvent[]> {
    return this.guard('read', () => readEventRows(this.statementSource, runId));
  }

  async getTape(runId: string): Promise<StoredTape> {
    const tape = this.guard('read', () => readTape(this.statementSource, runId));
    if (tape === undefined) await this.getRunOrThrow(runId);
    return tape as StoredTape;
  }

  async getBlobs(hashes: readonly string[]): Promise<Map<string, StoredBlob>> {
    const rows = this.guard('read', () => readBlobRows(this.statementSource, hashes));
    const blobs = new Map<string, StoredBlob>();
    const readChunk = chunkReader(this.statementSource);
    for (const row of rows) {
      // A chunked blob is read a few chunks per turn of the event loop.
      const data = row.chunk_set === null ? undefined : await readChunkSetInSlices((set, seq) => this.guard('read', () => readChunk(set, seq)), row.chunk_set);
      blobs.set(
        row.hash,
        this.guard('read', () => storedBlobOfRow(this.statementSource, row, data && (() => data))),
      );
    }
    return blobs;
  }

  async listDecisions(filter: DecisionFilter = {}): Promise<DecisionRecord[]> {
    return this.guard('read', () => readDecisions(this.statementSource, filter));
  }

  async listRunIds(): Promise<string[]> {
    const rows = this.guard('read', () => this.statement('SELECT run_id FROM runs ORDER BY recorded_at, run_id').all()) as Array<{ run_id: string }>;
    return rows.map((row) => row.run_id);
  }

  async markAbandonedRuns(isWriterAlive: (writer: RunWriter) => boolean = isWriterAliveOnThisHost): Promise<string[]> {
    if (this.readonly) return [];
    const marked = this.guard('update', () => {
      const recording = this.statement("SELECT run_id, writer_pid, writer_host FROM runs WHERE status = 'recording'").all() as Array<{
        run_id: string;
        writer_pid: number | null;
        writer_host: string | null;
      }>;
      // A run without a writer came in through import: nobody in this store will ever finish it.
      const abandoned = recording.filter(
        (row) => row.writer_pid === null || row.writer_host === null || !isWriterAlive({ pid: row.writer_pid, host: row.writer_host }),
      );
      const mark = this.statement("UPDATE runs SET status = 'incomplete' WHERE run_id = ? AND status = 'recording'");
      const marked = this.database.transaction(() => abandoned.filter((row) => mark.run(row.run_id).changes > 0).map((row) => row.run_id));
      return marked.immediate();
    });
    // Nobody will append to them any more: pack them as if they had ended. Pack too what ended
    // without its pack (a process that exited between a run's end and its packing), a bounded
    // number per open.
    const unpacked = this.guard('read', () =>
      (this.statement("SELECT run_id FROM runs WHERE run_pack_id IS NULL AND status != 'recording' LIMIT 200").all() as Array<{ run_id: string }>).map(
        (row) => row.run_id,
      ),
    );
    this.queuePacks([...new Set([...marked, ...unpacked])]);
    // Chunks of large blobs whose writer died before the blob's row committed.
    this.guard('read', () => this.chunks.cleanAbandoned(isWriterAlive));
    return marked;
  }

  async getRunBundle(runId: string): Promise<RunBundle> {
    // One read transaction, so a writer in another process cannot slip events in between reads.
    const bundle = this.guard('read', () => this.database.transaction(() => readBundle(this.statementSource, runId))());
    if (bundle === undefined) {
      await this.getRunOrThrow(runId);
      throw new StoreError({ message: `Run ${runId} disappeared while it was being read.` });
    }
    return bundle;
  }

  async importRunBundle(bundle: RunBundle): Promise<'imported' | 'exists'> {
    this.assertWritable('import into');
    checkBundle(bundle);
    // Present already: its large blobs need not be written ahead (the transaction checks again).
    if (this.guard('read', () => readRunState(this.statementSource, bundle.run.header.runId)) !== undefined) return 'exists';
    const large = await this.chunks.prepare(bundle.blobs, undefined);
    let outcome: 'imported' | 'exists';
    try {
      outcome = this.guard('import into', () => this.importTransaction.immediate(bundle, large));
    } catch (error) {
      this.chunks.settle(large, 'failed');
      throw error;
    }
    this.chunks.settle(large, 'committed');
    // Nothing will be appended to an imported run, so it is packed, ended or not.
    if (outcome === 'imported') this.queuePacks([bundle.run.header.runId]);
    return outcome;
  }

  async saveRunAnalysis(analysis: RunAnalysis): Promise<void> {
    this.assertWritable('write to');
    this.guard('write to', () =>
      this.statement('INSERT OR REPLACE INTO run_analyses (analysis_id, run_id, kind, created_at, result_json) VALUES (?, ?, ?, ?, ?)').run(
        analysis.analysisId,
        analysis.runId,
        analysis.kind,
        analysis.createdAt,
        JSON.stringify(analysis.result),
      ),
    );
  }

  async listRunAnalyses(runId: string, kind?: string): Promise<RunAnalysis[]> {
    const rows = this.guard('read', () =>
      this.statement(
        'SELECT analysis_id, run_id, kind, created_at, result_json FROM run_analyses WHERE run_id = ? AND (? IS NULL OR kind = ?) ORDER BY created_at, analysis_id',
      ).all(runId, kind ?? null, kind ?? null),
    ) as Array<{ analysis_id: string; run_id: string; kind: string; created_at: number; result_json: string }>;
    return rows.map((row) => ({
      analysisId: row.analysis_id,
      runId: row.run_id,
      kind: row.kind,
      createdAt: row.created_at,
      result: JSON.parse(row.result_json),
    }));
  }

  async stats(): Promise<StoreStats> {
    return this.guard('read', () => ({ ...readStats(this.statementSource), fileBytes: this.fileBytes() }));
  }

  async integrityCheck(): Promise<string[]> {
    const rows = this.guard('check', () => this.database.pragma('integrity_check')) as Array<{ integrity_check: string }>;
    return rows.map((row) => row.integrity_check).filter((message) => message !== 'ok');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.packing;
    if (this.closed) return;
    // Chunks of writes given up on (a lock that outlasted the writer's patience).
    if (!this.readonly) await this.chunks.cleanOpen();
    if (this.closed) return;
    // Returns the pages packing freed (a no-op in a file made before auto_vacuum was set).
    if (!this.readonly) {
      try {
        this.database.pragma('incremental_vacuum');
      } catch {
        // Another process may hold the write lock; the pages are reused by later writes anyway.
      }
    }
    this.closed = true;
    this.database.close();
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
