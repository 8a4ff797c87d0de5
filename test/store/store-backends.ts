import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe } from 'vitest';
import { createMemoryStore, openPostgresStore, openSqliteStore, type Store, type StoreCapabilities, type StoreStats } from '../../src/store/index.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';
import { type BuiltRun, batchesOf } from './tape-builder.ts';

/** Every backend the conformance suite runs against. Adding a name here fails to compile until it has expectations and an opener. */
export type BackendName = 'memory' | 'sqlite' | 'postgres';

/** Where backends legitimately differ; everything else must behave identically. */
export interface BackendExpectations {
  capabilities: StoreCapabilities;
  /** Whether stats().fileBytes is a size on disk or null. */
  reportsFileBytes: boolean;
  /**
   * `as-given`: blobs come back in the encoding and bytes they were written with, and stored sizes
   * are their sums. `recompressed`: the backend chooses its own storage (SQLite packs blobs written
   * together and deflates event JSON), so only the decoded content and the raw sizes are fixed.
   */
  storage: 'as-given' | 'recompressed';
}

export const expectations: Record<BackendName, BackendExpectations> = {
  memory: { capabilities: { supportsSkipLocked: false, multiProcessWriters: false }, reportsFileBytes: false, storage: 'as-given' },
  sqlite: { capabilities: { supportsSkipLocked: false, multiProcessWriters: true }, reportsFileBytes: true, storage: 'recompressed' },
  // fileBytes is the database's size (pg_database_size): PostgreSQL can tell, though the database may hold more than the store.
  postgres: { capabilities: { supportsSkipLocked: true, multiProcessWriters: true }, reportsFileBytes: true, storage: 'recompressed' },
};

/** PostgreSQL databases made for the current test, by `${directory}/${name}`: opening a name again reopens its database. */
const postgresDatabases = new Map<string, { url: string; drop(): Promise<void> }>();

async function openPostgres(directory: string, name: string): Promise<Store> {
  const key = `${directory}/${name}`;
  let database = postgresDatabases.get(key);
  if (database === undefined) {
    database = await createTestDatabase('retrial_t_store');
    postgresDatabases.set(key, database);
  }
  return openPostgresStore(database.url);
}

/** Drops the PostgreSQL databases the finished test made. */
async function dropPostgresDatabases(): Promise<void> {
  const databases = [...postgresDatabases.values()];
  postgresDatabases.clear();
  for (const database of databases) await database.drop();
}

/** Opens a fresh, empty store of a backend; `directory` is a temp directory removed after each test. */
export const openers: Record<BackendName, (directory: string, name: string) => Promise<Store>> = {
  memory: async () => createMemoryStore(),
  sqlite: (directory, name) => openSqliteStore(join(directory, `${name}.db`)),
  postgres: openPostgres,
};

export const BACKENDS = Object.keys(expectations) as BackendName[];

export interface BackendContext {
  backend: BackendName;
  expected: BackendExpectations;
  /** Opens a fresh store of this backend (or another), closed after the test. */
  open(name?: string, backend?: BackendName): Promise<Store>;
}

/** Declares `body`'s tests once per backend, each test with fresh stores in a fresh directory. */
export function describeEachBackend(title: string, body: (context: BackendContext) => void): void {
  for (const backend of BACKENDS) {
    describe(`${title}: ${backend}`, () => {
      let directory = '';
      const opened: Store[] = [];
      beforeEach(() => {
        directory = mkdtempSync(join(tmpdir(), `retrial-store-${backend}-`));
      });
      afterEach(async () => {
        for (const store of opened.splice(0)) await store.close();
        await dropPostgresDatabases();
        rmSync(directory, { recursive: true, force: true });
      });
      body({
        backend,
        expected: expectations[backend],
        open: async (name = 'main', other = backend) => {
          const store = await openers[other](directory, name);
          opened.push(store);
          return store;
        },
      });
    });
  }
}

export async function writeRun(store: Store, run: BuiltRun): Promise<void> {
  for (const batch of batchesOf(run)) await store.write(batch);
}

/** Stats to compare across writes: the file size of SQLite moves with checkpoints, not content. */
export function withoutFileBytes(stats: StoreStats): StoreStats {
  return { ...stats, fileBytes: null };
}
