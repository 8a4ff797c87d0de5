import { StoreError } from '../errors.ts';
import { type PgPoolLike, withConnection } from './postgres-database.ts';

export interface PostgresMigration {
  /** Applied in ascending order; never renumber or edit a released migration, add a new one. */
  version: number;
  name: string;
  sql: string;
}

/**
 * The same tables as SQLite's (sqlite-migrations.ts), in PostgreSQL types. Once a run has ended
 * its events live in its row of `run_packs` (postgres-packing.ts) and its event rows are deleted;
 * blobs it packed keep a row pointing into the pack. Packs are deflated already, so their column
 * is stored EXTERNAL (not compressed again by TOAST). Times are ms since epoch in double precision:
 * a run clock reading has a fraction, which SQLite keeps and so must this.
 * Text sorts by code point (COLLATE "C"), as SQLite's BINARY does, so both stores list in one order
 * and a run id prefix is a range on the primary key.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'runs, events, packs, blobs, the decision ledger, analyses, campaigns and the audit log',
    sql: `
      CREATE TABLE runs (
        run_id text COLLATE "C" PRIMARY KEY,
        agent text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL,
        recorded_at double precision NOT NULL,
        header_json text COLLATE "C" NOT NULL,
        root_hash text COLLATE "C" NOT NULL,
        head_hash text COLLATE "C" NOT NULL,
        seal_hash text COLLATE "C",
        event_count integer NOT NULL,
        event_bytes bigint NOT NULL DEFAULT 0,
        ending_json text COLLATE "C",
        writer_pid integer,
        writer_host text COLLATE "C",
        parent_run_id text COLLATE "C",
        models_served text[] NOT NULL DEFAULT '{}',
        packed boolean NOT NULL DEFAULT false
      );
      CREATE INDEX runs_by_recorded_at ON runs (recorded_at, run_id);
      CREATE INDEX runs_by_agent ON runs (agent, recorded_at);
      CREATE INDEX runs_by_status ON runs (status, recorded_at);
      CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
      CREATE INDEX runs_by_model ON runs USING gin (models_served);
      CREATE INDEX runs_unpacked ON runs (status) WHERE NOT packed;
      CREATE INDEX runs_recording ON runs (writer_host) WHERE status = 'recording';

      CREATE TABLE run_external_ids (
        run_id text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        value text COLLATE "C" NOT NULL,
        PRIMARY KEY (run_id, name)
      );
      CREATE INDEX run_external_ids_by_value ON run_external_ids (value);

      CREATE TABLE events (
        run_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        kind text COLLATE "C" NOT NULL,
        causal_key text COLLATE "C" NOT NULL,
        at double precision NOT NULL,
        json text COLLATE "C" NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (run_id, seq)
      );

      CREATE TABLE run_packs (
        run_id text COLLATE "C" PRIMARY KEY,
        encoding text COLLATE "C" NOT NULL,
        size integer NOT NULL,
        data bytea NOT NULL,
        dictionary_run_id text COLLATE "C"
      );
      ALTER TABLE run_packs ALTER COLUMN data SET STORAGE EXTERNAL;

      CREATE TABLE blobs (
        hash bytea PRIMARY KEY,
        encoding text COLLATE "C" NOT NULL,
        size integer NOT NULL,
        data bytea NOT NULL,
        pack_run_id text COLLATE "C",
        pack_offset integer
      );

      CREATE TABLE decisions (
        decision_id text COLLATE "C" PRIMARY KEY,
        run_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        agent text COLLATE "C" NOT NULL,
        type text COLLATE "C" NOT NULL,
        subject text COLLATE "C" NOT NULL,
        value text COLLATE "C" NOT NULL,
        amount double precision,
        currency text COLLATE "C",
        reversible boolean NOT NULL,
        effective_at double precision NOT NULL,
        recorded_at double precision NOT NULL,
        model_served text COLLATE "C",
        attributes_json text COLLATE "C" NOT NULL,
        supersedes text COLLATE "C"
      );
      CREATE INDEX decisions_by_type ON decisions (type, effective_at);
      CREATE INDEX decisions_by_subject ON decisions (subject);
      CREATE INDEX decisions_by_model ON decisions (model_served, type, effective_at);
      CREATE INDEX decisions_by_run ON decisions (run_id, seq);
      CREATE INDEX decisions_by_effective_at ON decisions (effective_at);
      CREATE UNIQUE INDEX decisions_by_supersedes ON decisions (supersedes) WHERE supersedes IS NOT NULL;

      CREATE TABLE run_analyses (
        analysis_id text COLLATE "C" PRIMARY KEY,
        run_id text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        created_at double precision NOT NULL,
        result_json text COLLATE "C" NOT NULL
      );
      CREATE INDEX run_analyses_by_run ON run_analyses (run_id, kind, created_at);

      CREATE TABLE campaigns (
        campaign_id text COLLATE "C" PRIMARY KEY,
        created_at double precision NOT NULL,
        plan_json text COLLATE "C" NOT NULL
      );
      CREATE TABLE campaign_items (
        campaign_id text COLLATE "C" NOT NULL,
        item_id text COLLATE "C" NOT NULL,
        chunk integer NOT NULL,
        arms text COLLATE "C" NOT NULL,
        item_json text COLLATE "C" NOT NULL,
        PRIMARY KEY (campaign_id, item_id)
      );
      CREATE INDEX campaign_items_by_chunk ON campaign_items (campaign_id, chunk);
      CREATE TABLE campaign_results (
        campaign_id text COLLATE "C" NOT NULL,
        item_id text COLLATE "C" NOT NULL,
        arm text COLLATE "C" NOT NULL,
        at double precision NOT NULL,
        result_json text COLLATE "C" NOT NULL,
        PRIMARY KEY (campaign_id, item_id, arm)
      );
      CREATE TABLE campaign_triage (
        campaign_id text COLLATE "C" NOT NULL,
        item_id text COLLATE "C" NOT NULL,
        action text COLLATE "C" NOT NULL,
        rule text COLLATE "C" NOT NULL,
        PRIMARY KEY (campaign_id, item_id)
      );
      CREATE TABLE review_verdicts (
        verdict_id bigserial PRIMARY KEY,
        campaign_id text COLLATE "C" NOT NULL,
        item_id text COLLATE "C" NOT NULL,
        verdict text COLLATE "C" NOT NULL,
        reviewer text COLLATE "C" NOT NULL,
        note text COLLATE "C" NOT NULL,
        at double precision NOT NULL
      );
      CREATE INDEX review_verdicts_by_campaign ON review_verdicts (campaign_id, item_id);
      CREATE TABLE corrections (
        idempotency_key text COLLATE "C" PRIMARY KEY,
        campaign_id text COLLATE "C" NOT NULL,
        item_id text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL,
        attempts integer NOT NULL,
        last_error text COLLATE "C",
        applied_at double precision,
        correction_json text COLLATE "C" NOT NULL
      );
      CREATE INDEX corrections_by_campaign ON corrections (campaign_id, item_id);
      CREATE TABLE audit_log (
        seq bigint PRIMARY KEY,
        at double precision NOT NULL,
        actor text COLLATE "C" NOT NULL,
        action text COLLATE "C" NOT NULL,
        campaign_id text COLLATE "C",
        details_json text COLLATE "C" NOT NULL,
        prev_hash text COLLATE "C" NOT NULL,
        hash text COLLATE "C" NOT NULL
      );
      CREATE INDEX audit_log_by_campaign ON audit_log (campaign_id, seq);
      CREATE TABLE correction_claims (
        decision_id text COLLATE "C" PRIMARY KEY,
        idempotency_key text COLLATE "C" NOT NULL,
        claimed_at double precision NOT NULL,
        expires_at double precision NOT NULL,
        holder_pid integer,
        holder_host text COLLATE "C"
      );
    `,
  },
  {
    version: 2,
    name: 'index-driven runs queries: decisions carry their run start, run_models_served, subject and status indexes',
    // As SQLite's migration 7: a runs page filtered by decision or model walks an index in the
    // run's start order and stops at the page's end, instead of probing every run newest first
    // (or reading every match and sorting). Triggers keep the copies, whoever writes the rows.
    sql: `
      ALTER TABLE decisions ADD COLUMN run_recorded_at double precision;
      UPDATE decisions d SET run_recorded_at = r.recorded_at FROM runs r WHERE r.run_id = d.run_id;
      CREATE FUNCTION retrial_decision_run_time() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.run_recorded_at := (SELECT recorded_at FROM runs WHERE run_id = NEW.run_id);
        RETURN NEW;
      END $$;
      CREATE TRIGGER decisions_run_time BEFORE INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION retrial_decision_run_time();
      CREATE INDEX decisions_by_type_run_time ON decisions (type, run_recorded_at, run_id);
      CREATE INDEX decisions_by_type_value_run_time ON decisions (type, value, run_recorded_at, run_id);

      CREATE TABLE run_models_served (
        model text COLLATE "C" NOT NULL,
        recorded_at double precision NOT NULL,
        run_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (model, recorded_at, run_id)
      );
      CREATE INDEX run_models_served_by_run ON run_models_served (run_id);
      INSERT INTO run_models_served (model, recorded_at, run_id)
        SELECT DISTINCT m.model, r.recorded_at, r.run_id FROM runs r CROSS JOIN LATERAL unnest(r.models_served) AS m(model);
      CREATE FUNCTION retrial_run_models_served() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' THEN
          IF NEW.models_served = OLD.models_served THEN RETURN NULL; END IF;
          DELETE FROM run_models_served WHERE run_id = NEW.run_id;
        END IF;
        INSERT INTO run_models_served (model, recorded_at, run_id)
          SELECT DISTINCT m, NEW.recorded_at, NEW.run_id FROM unnest(NEW.models_served) AS m;
        RETURN NULL;
      END $$;
      CREATE TRIGGER runs_models_served AFTER INSERT OR UPDATE OF models_served ON runs FOR EACH ROW EXECUTE FUNCTION retrial_run_models_served();
      DROP INDEX runs_by_model;

      -- Pages walk (agent | status, recorded_at, run_id): the run id breaks ties without a sort.
      CREATE INDEX runs_by_agent_time ON runs (agent, recorded_at, run_id);
      DROP INDEX runs_by_agent;
      CREATE INDEX runs_by_status_time ON runs (status, recorded_at, run_id);
      DROP INDEX runs_by_status;
      CREATE INDEX run_external_ids_by_value_run ON run_external_ids (value, run_id);
      DROP INDEX run_external_ids_by_value;
      ANALYZE runs;
      ANALYZE decisions;
      ANALYZE run_models_served;
    `,
  },
];

export const LATEST_POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.reduce((latest, migration) => Math.max(latest, migration.version), 0);

/**
 * Key of the advisory lock migrations hold: every process of a fleet starting at once takes it
 * in turn, so one migrates and the others find nothing left to do. (A constant: "retr" in ASCII.)
 */
const MIGRATION_LOCK_KEY = 0x72657472;

/** Highest applied migration, or 0 for a database retrial never touched. */
export async function readPostgresSchemaVersion(queryable: Pick<PgPoolLike, 'query'>): Promise<number> {
  const table = await queryable.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  if (table.rows[0]?.present !== true) return 0;
  const row = await queryable.query('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
  return Number(row.rows[0]?.version ?? 0);
}

/** Refuses a database written by a newer retrial: this code would misread or corrupt its tables. */
export function assertPostgresSchemaKnown(current: number, latest: number, location: string): void {
  if (current > latest)
    throw new StoreError({
      code: 'STORE_SCHEMA_NEWER',
      message: `The store at ${location} has schema version ${current}, newer than this retrial knows (${latest}); upgrade retrial to open it.`,
    });
}

/**
 * Brings the schema up to date in one transaction under an advisory lock: concurrent openers
 * wait for the first and then find nothing to do. Returns the versions applied (empty when the
 * schema was current). The version is read without the lock first, so opening a current store
 * costs one round trip and takes no lock.
 */
export async function applyPostgresMigrations(
  pool: PgPoolLike,
  location: string,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  const latest = migrations.reduce((highest, migration) => Math.max(highest, migration.version), 0);
  const before = await readPostgresSchemaVersion(pool);
  assertPostgresSchemaKnown(before, latest, location);
  if (before === latest) return [];
  return withConnection(pool, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)');
      const current = await readPostgresSchemaVersion(client);
      assertPostgresSchemaKnown(current, latest, location);
      const applied: number[] = [];
      for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
        if (migration.version <= current) continue;
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
        applied.push(migration.version);
      }
      await client.query('COMMIT');
      return applied;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  });
}
