import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStore, openPostgresStore, openStore, StoreError } from '../../src/store/index.ts';
import { LATEST_POSTGRES_SCHEMA_VERSION, POSTGRES_MIGRATIONS } from '../../src/store/postgres/postgres-migrations.ts';
import { OWN_POSTGRES_PASSWORD, type OwnPostgres, startOwnPostgres } from '../fixtures/own-postgres.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';
import { writeRun } from './store-backends.ts';
import { buildRun } from './tape-builder.ts';

/**
 * What an operator meets: each way a PostgreSQL store cannot be used is one line with a code the
 * CLI maps to an exit status, and never shows a password; migrations are versioned, serialized
 * across processes, and a newer schema is refused. Failures that need a server of our own
 * (passwords, permissions, a port nobody listens on) use a throwaway cluster, never the shared one.
 */

async function openError(url: string, options: { readonly?: boolean; mustExist?: boolean } = {}): Promise<StoreError> {
  const error = await openPostgresStore(url, options).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(StoreError);
  const storeError = error as StoreError;
  expect(storeError.message.split('\n')).toHaveLength(1);
  expect(storeError.message).not.toContain(OWN_POSTGRES_PASSWORD);
  return storeError;
}

describe('on the test server', () => {
  it('opens through openStore and RETRIAL_DB-style URLs, migrating once, and shows no password in its location', async () => {
    const database = await createTestDatabase('retrial_t_ops');
    try {
      const url = new URL(database.url);
      url.password = 'not-shown';
      const store = await openStore(url.toString());
      expect(store.location).not.toContain('not-shown');
      expect(store.location).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/retrial_t_ops_/);
      await writeRun(store, buildRun({ runId: 'run-a' }));
      await store.close();
      expect(await migrateStore(database.url)).toMatchObject({ backend: 'postgres', applied: [], version: LATEST_POSTGRES_SCHEMA_VERSION });
    } finally {
      await database.drop();
    }
  });

  it('runs the migrations once when eight stores (eight pools) open a new database at once', async () => {
    const database = await createTestDatabase('retrial_t_ops');
    try {
      const stores = await Promise.all(Array.from({ length: 8 }, () => openPostgresStore(database.url)));
      await Promise.all(stores.map((store) => store.close()));
      const report = await migrateStore(database.url);
      expect(report.applied).toEqual([]);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const rows = (await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows;
      await client.end();
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map(({ version }) => ({ version })));
    } finally {
      await database.drop();
    }
  });

  it('refuses a store migrated by a newer retrial, and a readonly open of an empty database', async () => {
    const database = await createTestDatabase('retrial_t_ops');
    try {
      expect(await migrateStore(database.url)).toMatchObject({ applied: POSTGRES_MIGRATIONS.map(({ version }) => version) });
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', 0)");
      await client.end();
      const newer = await openError(database.url);
      expect(newer.code).toBe('STORE_SCHEMA_NEWER');
      expect(newer.message).toContain(`schema version 99, newer than this retrial knows (${LATEST_POSTGRES_SCHEMA_VERSION}); upgrade retrial`);
    } finally {
      await database.drop();
    }
    const empty = await createTestDatabase('retrial_t_ops');
    try {
      const error = await openError(empty.url, { readonly: true });
      expect(error.code).toBe('STORE_MISSING_DATABASE');
      expect(error.message).toMatch(/holds no retrial store yet/);
    } finally {
      await empty.drop();
    }
  });

  it('opened readonly, refuses every write and marks no run', async () => {
    const database = await createTestDatabase('retrial_t_ops');
    try {
      const writer = await openPostgresStore(database.url);
      await writeRun(writer, buildRun({ runId: 'run-a' }));
      await writer.close();
      const reader = await openStore(database.url, { readonly: true });
      expect((await reader.getRun('run-a'))?.status).toBe('complete');
      await expect(reader.write({ runsStarted: [], appends: [], blobs: [], decisions: [], runsEnded: [] })).rejects.toThrow(/opened readonly/);
      await expect(reader.campaigns.appendAudit({ at: 1, actor: 'a', action: 'x', campaignId: null, details: null })).rejects.toThrow(/opened readonly/);
      expect(await reader.markAbandonedRuns(() => false)).toEqual([]);
      await reader.close();
    } finally {
      await database.drop();
    }
  });

  it('takes its pool size from the URL or RETRIAL_PG_POOL_SIZE, and refuses a bad one', async () => {
    const database = await createTestDatabase('retrial_t_ops');
    try {
      const store = await openPostgresStore(`${database.url}?pool_size=2`);
      expect(store.location).not.toContain('pool_size');
      await store.close();
      const error = await openError(`${database.url}?pool_size=zero`);
      expect(error.message).toMatch(/pool size "zero" \(pool_size or RETRIAL_PG_POOL_SIZE\) is not a whole number/);
    } finally {
      await database.drop();
    }
  });
});

describe('on a cluster of its own', () => {
  let own: OwnPostgres;
  beforeAll(async () => {
    own = await startOwnPostgres();
    await own.sql('CREATE DATABASE retrial');
    await own.sql("CREATE ROLE limited LOGIN PASSWORD 'limited-secret'");
    // PostgreSQL 15 gives others no CREATE on the public schema: this user can connect and read, not migrate.
    await own.sql('GRANT CONNECT ON DATABASE retrial TO limited');
  }, 120_000);
  afterAll(async () => {
    await own?.destroy();
  });

  it('says so in one line when the password is wrong', async () => {
    const error = await openError(own.url('retrial', { user: 'postgres', password: 'wrong-password' }));
    expect(error.code).toBe('STORE_AUTH');
    expect(error.message).toMatch(/the server refused the credentials .*check the user and password in the URL/);
    expect(error.message).not.toContain('wrong-password');
  });

  it('says so in one line when the database does not exist', async () => {
    const error = await openError(own.url('no_such_database'));
    expect(error.code).toBe('STORE_MISSING_DATABASE');
    expect(error.message).toMatch(/the server has no database "no_such_database"; create it/);
  });

  it('says so in one line when the user may not create the tables', async () => {
    const error = await openError(own.url('retrial', { user: 'limited', password: 'limited-secret' }));
    expect(error.code).toBe('STORE_PERMISSION');
    expect(error.message).toMatch(/permission denied .*run `retrial migrate` once as its owner/);
  });

  it('says which grant to run when the tables exist but belong to the role that migrated them, and opens once it is run', async () => {
    await own.sql('CREATE DATABASE migrated');
    await own.sql('GRANT CONNECT ON DATABASE migrated TO limited');
    await migrateStore(own.url('migrated'));
    const limited = own.url('migrated', { user: 'limited', password: 'limited-secret' });
    const error = await openError(limited);
    expect(error.code).toBe('STORE_PERMISSION');
    expect(error.message).toMatch(
      /permission denied for table .*as their owner, run GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO limited, or connect as the role that ran `retrial migrate`/,
    );
    // The grant the message names is all the user lacked.
    await own.sql('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO limited', 'migrated');
    const store = await openPostgresStore(limited);
    await writeRun(store, buildRun({ runId: 'run-granted' }));
    expect(await store.countRuns({})).toBe(1);
    await store.close();
  });

  it('says so in one line when nothing listens at the address', async () => {
    const url = own.url('retrial').replace(`:${own.port}/`, ':1/');
    const error = await openError(url);
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toMatch(/cannot be reached .*check that it runs and accepts connections/);
  });
});
