import type { RunRecord, StoredBlob } from '../../tape/index.ts';
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
} from '../store.ts';
import { checkBundle } from '../write-batch-checks.ts';
import { isWriterAliveOnThisHost } from '../writer-liveness.ts';
import { createPostgresCampaignStore } from './postgres-campaigns.ts';
import {
  createPostgresPool,
  describePostgresError,
  isConnectionError,
  type PgClientLike,
  type PgPoolLike,
  parsePostgresUrl,
  withConnection,
} from './postgres-database.ts';
import { applyPostgresMigrations, assertPostgresSchemaKnown, LATEST_POSTGRES_SCHEMA_VERSION, readPostgresSchemaVersion } from './postgres-migrations.ts';
import {
  DEFAULT_PACK_LIMITS,
  deflateRunPack,
  keyframeOf,
  PackCache,
  type PostgresKeyframe,
  planRunPack,
  readBlobsPacked,
  storeRunPack,
} from './postgres-packing.ts';
import { countRuns, readBundle, readDecisions, readRun, readRunSummaries, readRunWithEvents, readStats, readTape } from './postgres-reads.ts';
import { applyRunImport, applyWriteBatch } from './postgres-writes.ts';

export { DEFAULT_POOL_SIZE, type PgClientLike, type PgPoolLike } from './postgres-database.ts';

export interface PostgresStoreOptions {
  /**
   * Open without writing anything: no migrations, no marking of crashed runs, and every
   * transaction READ ONLY on the server; `write` throws.
   */
  readonly?: boolean;
  /** Refuse a database that holds no retrial store instead of migrating an empty one. */
  mustExist?: boolean;
}

/** The PostgreSQL store: the Store interface plus what a team's operator asks of it. */
export interface PostgresStore extends Store {
  /** Resolves once the runs ended so far are packed (or left in their rows); `close` waits for this too. */
  idle(): Promise<void>;
}

/** How `transaction` runs a body: with a client inside BEGIN ... COMMIT. */
export type PostgresTransaction = <Result>(action: string, body: (client: PgClientLike) => Promise<Result>, mode?: 'read' | 'write') => Promise<Result>;
/** How a read runs outside a transaction: on the pool, driver errors turned into StoreErrors. */
export type PostgresRead = <Result>(action: string, body: (pool: PgPoolLike) => Promise<Result>) => Promise<Result>;

/**
 * Opens the store at a postgres:// URL, migrating the database on first use (an advisory lock
 * serializes a fleet opening it at once). Pool size: `?pool_size=` on the URL, else
 * RETRIAL_PG_POOL_SIZE, else DEFAULT_POOL_SIZE (4) connections per process.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const { connectionString, poolSize, location } = parsePostgresUrl(url);
  const readonly = options.readonly ?? false;
  const pool = await createPostgresPool(connectionString, { poolSize, readonly });
  try {
    const current = await readPostgresSchemaVersion(pool);
    assertPostgresSchemaKnown(current, LATEST_POSTGRES_SCHEMA_VERSION, location);
    if (current === 0 && (readonly || options.mustExist))
      throw new StoreError({
        code: 'STORE_MISSING_DATABASE',
        message: `The database at ${location} holds no retrial store yet; record into it first, or run \`npx retrial migrate --db ${location}\` to create its tables.`,
      });
    if (readonly && current < LATEST_POSTGRES_SCHEMA_VERSION)
      throw new StoreError({
        message: `The store at ${location} has schema version ${current} and needs migrating to ${LATEST_POSTGRES_SCHEMA_VERSION} before it can be read without writing to it; run \`npx retrial migrate --db ${location}\`.`,
      });
    const applied = readonly ? [] : await applyPostgresMigrations(pool, location);
    return new PostgresBackedStore(pool, location, readonly, applied);
  } catch (error) {
    await pool.end().catch(() => {});
    throw describePostgresError('open', location, error);
  }
}

/**
 * Runs the migrations a store needs and says which it applied; for `retrial migrate`. Opening a
 * store migrates too; this does it explicitly (as the database owner, before a fleet starts).
 */
export async function migratePostgresStore(url: string): Promise<{ location: string; applied: number[]; version: number }> {
  const store = (await openPostgresStore(url)) as PostgresBackedStore;
  try {
    return { location: store.location, applied: store.migrationsApplied, version: LATEST_POSTGRES_SCHEMA_VERSION };
  } finally {
    await store.close();
  }
}

/** Highest Unicode code point: `prefix + this` sorts after every id that starts with `prefix` (ids sort by code point). */
const PREFIX_UPPER_BOUND = '\u{10FFFF}';
/** How many failed packs of one run are tried again (after 50 ms, doubling), e.g. across a restart. */
const PACK_RETRIES = 6;

class PostgresBackedStore implements PostgresStore {
  readonly capabilities = { supportsSkipLocked: true, multiProcessWriters: true };
  readonly campaigns: CampaignStore;
  private closed = false;
  private packing: Promise<void> = Promise.resolve();
  private readonly packCache = new PackCache();
  /** The pack later packs of this process are deflated against; set once its transaction committed. */
  private keyframe: PostgresKeyframe | null = null;

  constructor(
    private readonly pool: PgPoolLike,
    readonly location: string,
    private readonly readonly: boolean,
    readonly migrationsApplied: number[],
  ) {
    this.campaigns = createPostgresCampaignStore(
      (action, body, mode) => this.transaction(action, body, mode),
      (action, body) => this.read(action, body),
      () => this.assertWritable('write to'),
    );
  }

  /** Runs `body` on the pool, turning driver errors into StoreErrors that name the store. */
  private async read<Result>(action: string, body: (pool: PgPoolLike) => Promise<Result>): Promise<Result> {
    this.assertOpen(action);
    try {
      return await body(this.pool);
    } catch (error) {
      throw describePostgresError(action, this.location, error);
    }
  }

  /**
   * Runs `body` in one transaction on one connection: all of it commits or none of it. `read`
   * transactions are REPEATABLE READ (one snapshot for a bundle). A connection that failed is
   * destroyed, not returned to the pool, so the next call opens a fresh one (after a restart).
   */
  private async transaction<Result>(action: string, body: (client: PgClientLike) => Promise<Result>, mode: 'read' | 'write' = 'write'): Promise<Result> {
    this.assertOpen(action);
    if (mode === 'write') this.assertWritable(action);
    try {
      return await withConnection(this.pool, async (client) => {
        await client.query(mode === 'read' ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
        try {
          const result = await body(client);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          // On a lost connection there is nothing to roll back: the server already has.
          if (!isConnectionError(error)) await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
      });
    } catch (error) {
      throw describePostgresError(action, this.location, error);
    }
  }

  async write(batch: WriteBatch): Promise<void> {
    // PostgreSQL waits for row locks on its own side, off this event loop: WriteOptions.lockWaitMs is SQLite's concern.
    await this.transaction('write to', (client) => applyWriteBatch(client, batch));
    this.queuePacks(batch.runsEnded.map((ended) => ended.runId));
  }

  async idle(): Promise<void> {
    await this.packing;
  }

  /** Packs runs that will get no more events, one after another; `write` does not wait, `close` and `stats` do. */
  private queuePacks(runIds: readonly string[]): void {
    if (runIds.length === 0 || this.readonly) return;
    this.packing = this.packing.then(async () => {
      for (const runId of runIds) await this.packRun(runId);
    });
  }

  /**
   * Packs one run (postgres-packing.ts): planned and deflated outside any transaction, then written
   * in a short one. Best effort: a run left unpacked reads from its rows, and the next open that
   * sweeps (markAbandonedRuns) packs it.
   */
  private async packRun(runId: string, attempt = 0): Promise<void> {
    if (this.closed) return;
    try {
      const plan = await planRunPack(this.pool, runId, DEFAULT_PACK_LIMITS);
      if (plan === null) return;
      const deflated = await deflateRunPack(plan, this.keyframe);
      if (this.closed) return;
      const stored = await this.transaction('pack a run in', (client) => storeRunPack(client, plan, deflated));
      if (stored) this.keyframe = keyframeOf(plan, deflated) ?? this.keyframe;
    } catch (error) {
      if (attempt < PACK_RETRIES && isConnectionError((error as { cause?: unknown }).cause ?? error)) {
        const retry = () => {
          if (!this.closed) this.packing = this.packing.then(() => this.packRun(runId, attempt + 1));
        };
        setTimeout(retry, 50 * 2 ** attempt).unref();
      }
    }
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.read('read', (pool) => readRun(pool, runId));
  }

  async getRunOrThrow(runId: string): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (run === undefined) throw new RunNotFoundError({ runId, suggestions: await suggestRunIds(runId, (prefix, limit) => this.findRunIds(prefix, limit)) });
    return run;
  }

  async findRunIds(prefix: string, limit = 10): Promise<string[]> {
    return this.read('read', async (pool) => {
      const result = await pool.query('SELECT run_id FROM runs WHERE run_id >= $1 AND run_id < $2 ORDER BY run_id LIMIT $3', [
        prefix,
        prefix + PREFIX_UPPER_BOUND,
        limit,
      ]);
      return result.rows.map((row) => row.run_id as string);
    });
  }

  async listRuns(filter: RunFilter = {}): Promise<RunSummary[]> {
    return this.read('read', (pool) => readRunSummaries(pool, filter));
  }

  async countRuns(filter: RunFilter = {}, options: CountOptions = {}): Promise<number> {
    return this.read('read', (pool) => countRuns(pool, filter, options.upTo));
  }

  async getEvents(runId: string): Promise<StoredEvent[]> {
    return this.read('read', async (pool) => (await readRunWithEvents(pool, this.packCache, runId))?.events ?? []);
  }

  async getTape(runId: string): Promise<StoredTape> {
    const tape = await this.read('read', (pool) => readTape(pool, this.packCache, runId));
    if (tape === undefined) await this.getRunOrThrow(runId);
    return tape as StoredTape;
  }

  async getBlobs(hashes: readonly string[]): Promise<Map<string, StoredBlob>> {
    return this.read('read', (pool) => readBlobsPacked(pool, this.packCache, hashes));
  }

  async listDecisions(filter: DecisionFilter = {}): Promise<DecisionRecord[]> {
    return this.read('read', (pool) => readDecisions(pool, filter));
  }

  async listRunIds(): Promise<string[]> {
    return this.read('read', async (pool) =>
      (await pool.query('SELECT run_id FROM runs ORDER BY recorded_at, run_id')).rows.map((row) => row.run_id as string),
    );
  }

  /**
   * Runs recorded on many hosts share this store, and a pid means something only on its own host:
   * the default check (isWriterAliveOnThisHost) judges writers on this host and counts every
   * other host's as alive, so a run recording on another machine is never marked here. Each host
   * closes its own dead runs when a command opens the store there.
   */
  async markAbandonedRuns(isWriterAlive: (writer: RunWriter) => boolean = isWriterAliveOnThisHost): Promise<string[]> {
    if (this.readonly) return [];
    const recording = await this.read(
      'read',
      async (pool) => (await pool.query("SELECT run_id, writer_pid, writer_host FROM runs WHERE status = 'recording'")).rows,
    );
    // A run without a writer came in through import: nobody in this store will ever finish it.
    const abandoned = recording
      .filter(
        (row) => row.writer_pid === null || row.writer_host === null || !isWriterAlive({ pid: row.writer_pid as number, host: row.writer_host as string }),
      )
      .map((row) => row.run_id as string);
    let marked: string[] = [];
    if (abandoned.length)
      marked = await this.transaction('update', async (client) =>
        (
          await client.query("UPDATE runs SET status = 'incomplete' WHERE run_id = ANY($1::text[]) AND status = 'recording' RETURNING run_id", [abandoned])
        ).rows.map((row) => row.run_id as string),
      );
    marked.sort((a, b) => abandoned.indexOf(a) - abandoned.indexOf(b));
    // Nothing will be appended to them: pack them, and a bounded number of ended runs left unpacked.
    const unpacked = await this.read('read', async (pool) =>
      (await pool.query("SELECT run_id FROM runs WHERE NOT packed AND status <> 'recording' LIMIT 200")).rows.map((row) => row.run_id as string),
    );
    this.queuePacks([...new Set([...marked, ...unpacked])]);
    return marked;
  }

  async getRunBundle(runId: string): Promise<RunBundle> {
    // One snapshot, so a writer in another process cannot slip events in between reads.
    const bundle = await this.transaction('read', (client) => readBundle(client, this.packCache, runId), 'read');
    if (bundle === undefined) {
      await this.getRunOrThrow(runId);
      throw new StoreError({ message: `Run ${runId} disappeared while it was being read.` });
    }
    return bundle;
  }

  async importRunBundle(bundle: RunBundle): Promise<'imported' | 'exists'> {
    this.assertWritable('import into');
    checkBundle(bundle);
    const outcome = await this.transaction('import into', (client) => applyRunImport(client, bundle));
    if (outcome === 'imported') this.queuePacks([bundle.run.header.runId]);
    return outcome;
  }

  async saveRunAnalysis(analysis: RunAnalysis): Promise<void> {
    this.assertWritable('write to');
    await this.read('write to', (pool) =>
      pool.query(
        `INSERT INTO run_analyses (analysis_id, run_id, kind, created_at, result_json) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (analysis_id) DO UPDATE SET run_id = excluded.run_id, kind = excluded.kind, created_at = excluded.created_at, result_json = excluded.result_json`,
        [analysis.analysisId, analysis.runId, analysis.kind, analysis.createdAt, JSON.stringify(analysis.result)],
      ),
    );
  }

  async listRunAnalyses(runId: string, kind?: string): Promise<RunAnalysis[]> {
    const rows = await this.read(
      'read',
      async (pool) =>
        (
          await pool.query(
            'SELECT analysis_id, run_id, kind, created_at, result_json FROM run_analyses WHERE run_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY created_at, analysis_id',
            [runId, kind ?? null],
          )
        ).rows,
    );
    return rows.map((row) => ({
      analysisId: row.analysis_id as string,
      runId: row.run_id as string,
      kind: row.kind as string,
      createdAt: row.created_at as number,
      result: JSON.parse(row.result_json as string),
    }));
  }

  /** Sizes after the packs in flight; fileBytes is the whole database's size (pg_database_size), shared with anything else in it. */
  async stats(): Promise<StoreStats> {
    await this.packing;
    return this.read('read', async (pool) => {
      const stats = await readStats(pool);
      const size = await pool.query('SELECT pg_database_size(current_database()) AS bytes');
      return { ...stats, fileBytes: size.rows[0]?.bytes as number };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.packing;
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => {});
  }

  private assertOpen(action: string): void {
    if (this.closed) throw new StoreError({ message: `Cannot ${action} the PostgreSQL store at ${this.location}: it has been closed.` });
  }

  private assertWritable(action: string): void {
    if (this.readonly) throw new StoreError({ message: `Cannot ${action} the store at ${this.location}: it was opened readonly.` });
  }
}
