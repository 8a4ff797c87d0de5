import { StoreError } from '../errors.ts';
import type { SqliteDatabaseLike } from './sqlite-database.ts';

export interface SqliteMigration {
  /** Applied in ascending order; never renumber or edit a released migration, add a new one. */
  version: number;
  name: string;
  sql: string;
}

/**
 * Events and blobs are WITHOUT ROWID tables keyed by (run, seq) and by hash: once their run is
 * packed their content lives in its pack (see sqlite-packing.ts), so most rows are small (ids and
 * offsets), and a separate index on those keys would double the per-row cost. While a run records,
 * its rows keep their bytes inline; an earlier measurement found kilobyte rows inline 2-3x slower to
 * insert into WITHOUT ROWID tables, and recording still meets its added-latency target
 * (bench/record). Decisions carry no foreign key to runs: a correction written by remediation
 * supersedes a decision without belonging to a recorded run.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'runs, events, blobs and the decision ledger',
    sql: `
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        status TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        header_json TEXT NOT NULL,
        root_hash TEXT NOT NULL,
        head_hash TEXT NOT NULL,
        seal_hash TEXT,
        event_count INTEGER NOT NULL,
        event_bytes INTEGER NOT NULL DEFAULT 0,
        ending_json TEXT,
        writer_pid INTEGER,
        writer_host TEXT,
        parent_run_id TEXT,
        models_served TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX runs_by_recorded_at ON runs (recorded_at);
      CREATE INDEX runs_by_agent ON runs (agent, recorded_at);
      CREATE INDEX runs_by_status ON runs (status);
      CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

      CREATE TABLE run_external_ids (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, name)
      ) WITHOUT ROWID;
      CREATE INDEX run_external_ids_by_value ON run_external_ids (value);

      CREATE TABLE events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        causal_key TEXT NOT NULL,
        at REAL NOT NULL,
        json TEXT NOT NULL,
        hash BLOB NOT NULL,
        pack_id INTEGER,
        pack_offset INTEGER,
        pack_length INTEGER,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE blobs (
        hash BLOB PRIMARY KEY,
        encoding TEXT NOT NULL,
        size INTEGER NOT NULL,
        data BLOB NOT NULL,
        pack_id INTEGER,
        pack_offset INTEGER
      ) WITHOUT ROWID;

      CREATE TABLE packs (
        pack_id INTEGER PRIMARY KEY,
        encoding TEXT NOT NULL,
        size INTEGER NOT NULL,
        data BLOB NOT NULL,
        dictionary_pack_id INTEGER
      );

      CREATE TABLE decisions (
        decision_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        agent TEXT NOT NULL,
        type TEXT NOT NULL,
        subject TEXT NOT NULL,
        value TEXT NOT NULL,
        amount REAL,
        currency TEXT,
        reversible INTEGER NOT NULL,
        effective_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        model_served TEXT,
        attributes_json TEXT NOT NULL,
        supersedes TEXT
      );
      CREATE INDEX decisions_by_type ON decisions (type, effective_at);
      CREATE INDEX decisions_by_subject ON decisions (subject);
      CREATE INDEX decisions_by_model ON decisions (model_served, type, effective_at);
      CREATE INDEX decisions_by_run ON decisions (run_id, seq);
      CREATE INDEX decisions_by_supersedes ON decisions (supersedes) WHERE supersedes IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'analyses computed from runs (resample results)',
    sql: `
      CREATE TABLE run_analyses (
        analysis_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        result_json TEXT NOT NULL
      );
      CREATE INDEX run_analyses_by_run ON run_analyses (run_id, kind, created_at);
    `,
  },
  {
    version: 3,
    name: 'backfill campaigns, review, corrections and the audit log',
    sql: `
      CREATE TABLE campaigns (
        campaign_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        plan_json TEXT NOT NULL
      );
      CREATE TABLE campaign_items (
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        chunk INTEGER NOT NULL,
        arms TEXT NOT NULL,
        item_json TEXT NOT NULL,
        PRIMARY KEY (campaign_id, item_id)
      ) WITHOUT ROWID;
      CREATE INDEX campaign_items_by_chunk ON campaign_items (campaign_id, chunk);
      -- One result per (campaign, item, arm): the primary key is what makes a resumed run exactly-once.
      CREATE TABLE campaign_results (
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        arm TEXT NOT NULL,
        at INTEGER NOT NULL,
        result_json TEXT NOT NULL,
        PRIMARY KEY (campaign_id, item_id, arm)
      ) WITHOUT ROWID;
      CREATE TABLE campaign_triage (
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        action TEXT NOT NULL,
        rule TEXT NOT NULL,
        PRIMARY KEY (campaign_id, item_id)
      ) WITHOUT ROWID;
      CREATE TABLE review_verdicts (
        verdict_id INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        verdict TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        note TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX review_verdicts_by_campaign ON review_verdicts (campaign_id, item_id);
      CREATE TABLE corrections (
        idempotency_key TEXT PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        applied_at INTEGER,
        correction_json TEXT NOT NULL
      );
      CREATE INDEX corrections_by_campaign ON corrections (campaign_id, item_id);
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        campaign_id TEXT,
        details_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX audit_log_by_campaign ON audit_log (campaign_id, seq);
    `,
  },
  {
    version: 4,
    name: 'claims on corrections being applied',
    sql: `
      CREATE TABLE correction_claims (
        decision_id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: "a finished run's pack, read whole by replay",
    // NULL: not packed yet (packing follows the run's end, or the next open). 0: recorded before
    // run packs, and left as it is.
    // The partial index keeps the sweep on open (markAbandonedRuns) from scanning every run.
    sql: `
      ALTER TABLE runs ADD COLUMN run_pack_id INTEGER;
      UPDATE runs SET run_pack_id = 0;
      CREATE INDEX runs_unpacked ON runs (status) WHERE run_pack_id IS NULL;
    `,
  },
  {
    version: 6,
    name: 'the process holding a correction claim',
    // NULL on claims taken before: those only lapse. A claim whose process is gone is taken over at once.
    sql: `
      ALTER TABLE correction_claims ADD COLUMN holder_pid INTEGER;
      ALTER TABLE correction_claims ADD COLUMN holder_host TEXT;
    `,
  },
  {
    version: 7,
    name: 'indexes that drive the runs list by decision, model served, status and subject',
    // A run's start time is copied beside each of its decisions and each model it was served, by
    // triggers, so a `runs` page filtered by decision type (and a window) or by model walks one
    // index in recorded-at order and stops at the page's end, however rare or common the match;
    // probing every run's decisions instead read every run of the window (issue 15). Triggers keep
    // every write path (recording, import, corrections) filling them without knowing of them.
    sql: `
      ALTER TABLE decisions ADD COLUMN run_recorded_at INTEGER;
      UPDATE decisions SET run_recorded_at = (SELECT r.recorded_at FROM runs r WHERE r.run_id = decisions.run_id);
      CREATE INDEX decisions_by_type_run_time ON decisions (type, run_recorded_at, run_id);
      CREATE INDEX decisions_by_type_value_run_time ON decisions (type, value, run_recorded_at, run_id);
      CREATE TRIGGER decisions_run_time AFTER INSERT ON decisions BEGIN
        UPDATE decisions SET run_recorded_at = (SELECT r.recorded_at FROM runs r WHERE r.run_id = NEW.run_id) WHERE decision_id = NEW.decision_id;
      END;

      CREATE TABLE run_models_served (
        model TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (model, recorded_at, run_id)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO run_models_served (model, recorded_at, run_id)
        SELECT m.value, r.recorded_at, r.run_id FROM runs r, json_each(r.models_served) m;
      CREATE TRIGGER runs_models_inserted AFTER INSERT ON runs BEGIN
        INSERT OR IGNORE INTO run_models_served (model, recorded_at, run_id) SELECT value, NEW.recorded_at, NEW.run_id FROM json_each(NEW.models_served);
      END;
      CREATE TRIGGER runs_models_updated AFTER UPDATE OF models_served ON runs BEGIN
        DELETE FROM run_models_served WHERE model IN (SELECT value FROM json_each(OLD.models_served)) AND recorded_at = OLD.recorded_at AND run_id = OLD.run_id;
        INSERT OR IGNORE INTO run_models_served (model, recorded_at, run_id) SELECT value, NEW.recorded_at, NEW.run_id FROM json_each(NEW.models_served);
      END;

      CREATE INDEX runs_by_status_time ON runs (status, recorded_at);
      DROP INDEX runs_by_status;
    `,
  },
  {
    version: 8,
    name: 'large blobs written as chunks, in short transactions',
    // A blob row with a chunk_set keeps no data of its own: its stored bytes are the set's chunks
    // in seq order (sqlite-blob-chunks.ts). A blob_chunk_sets row marks a set no blob row refers
    // to yet: being written, or left by a write that never committed (then cleaned). AUTOINCREMENT:
    // a set id is never handed out twice, so a cleaned orphan's id cannot come back under a blob.
    sql: `
      ALTER TABLE blobs ADD COLUMN chunk_set INTEGER;
      CREATE TABLE blob_chunk_sets (
        chunk_set INTEGER PRIMARY KEY AUTOINCREMENT,
        hash BLOB NOT NULL,
        writer_pid INTEGER NOT NULL,
        writer_host TEXT NOT NULL
      );
      CREATE TABLE blob_chunks (
        chunk_set INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (chunk_set, seq)
      );
    `,
  },
];

export const LATEST_SCHEMA_VERSION = SQLITE_MIGRATIONS.reduce((latest, migration) => Math.max(latest, migration.version), 0);

/** Highest applied migration, or 0 for a database retrial never touched. */
export function readSchemaVersion(database: SqliteDatabaseLike): number {
  const table = database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === undefined) return 0;
  const row = database.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

/**
 * Brings the schema up to date in one IMMEDIATE transaction, so two processes opening a fresh
 * file at once do not both migrate: the second waits, then finds nothing to do.
 */
export function applySqliteMigrations(database: SqliteDatabaseLike, location: string, migrations: readonly SqliteMigration[] = SQLITE_MIGRATIONS): number[] {
  const latest = migrations.reduce((highest, migration) => Math.max(highest, migration.version), 0);
  const migrate = database.transaction((): number[] => {
    database.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const current = readSchemaVersion(database);
    assertSchemaKnown(current, latest, location);
    const record = database.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (migration.version <= current) continue;
      database.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      applied.push(migration.version);
    }
    return applied;
  });
  return migrate.immediate();
}

/** Refuses a database written by a newer retrial: this code would misread or corrupt its tables. */
export function assertSchemaKnown(current: number, latest: number, location: string): void {
  if (current > latest) {
    throw new StoreError({
      code: 'STORE_SCHEMA_NEWER',
      message: `The store at ${location} has schema version ${current}, newer than this retrial knows (${latest}); upgrade retrial to open it.`,
    });
  }
}
