import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { StoreError, StoreNotFoundError } from './errors.ts';
import { createMemoryStore } from './memory/memory-store.ts';
import type { PostgresStore, PostgresStoreOptions } from './postgres/postgres-store.ts';
import { migrateSqliteStore, openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

/** Where the embedded store lives when neither `--db` nor RETRIAL_DB says otherwise, relative to cwd. */
export const DEFAULT_STORE_PATH = '.retrial/retrial.db';

/** Location that selects the in-process memory store. */
export const MEMORY_LOCATION = ':memory:';

/** Whether a SQLite path could hold a store: it exists and is not empty (SQLite makes an empty file a new database). */
function holdsAStore(path: string): boolean {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats !== undefined && (!stats.isFile() || stats.size > 0);
}

/** The location a command should open: the given one, else RETRIAL_DB, else the default path. */
export function resolveStoreLocation(location: string | undefined, environment: NodeJS.ProcessEnv = process.env): string {
  if (location !== undefined && location !== '') return location;
  const fromEnvironment = environment.RETRIAL_DB;
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  return DEFAULT_STORE_PATH;
}

/** Whether a location names a PostgreSQL database rather than a file. */
export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Opens the store a location names (`:memory:`, a SQLite file path, or a postgres:// URL),
 * creating a SQLite file that does not exist unless `create` is false (a reading command given a
 * mistyped path should say so, not show an empty store). Then marks runs whose writer died as
 * incomplete, so a crash shows up on the next open instead of leaving a run `recording` for ever.
 * `readonly` (verify) writes nothing at all: no file, no migration, no marking of crashed runs.
 */
export async function openStore(
  location: string | undefined,
  { create = true, readonly = false }: { create?: boolean; readonly?: boolean } = {},
): Promise<Store> {
  const resolved = resolveStoreLocation(location);
  let store: Store;
  if (isPostgresLocation(resolved)) {
    // Loaded here, so that neither the PostgreSQL code nor `pg` loads for a SQLite store.
    const { openPostgresStore } = await import('./postgres/postgres-store.ts');
    store = await openPostgresStore(resolved, { readonly, mustExist: !create });
  } else {
    if ((readonly || !create) && resolved !== MEMORY_LOCATION && !holdsAStore(resolved)) throw new StoreNotFoundError({ location: resolved });
    if (resolved === MEMORY_LOCATION) return createMemoryStore();
    store = await openSqliteStore(resolve(resolved), { readonly });
  }
  if (readonly) return store;
  try {
    await store.markAbandonedRuns();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** What `retrial migrate` did to a store. */
export interface MigrationReport {
  /** The store, as shown to people (a PostgreSQL URL without its password). */
  location: string;
  backend: 'sqlite' | 'postgres';
  /** Migrations applied now, in order; empty when the schema was current. */
  applied: number[];
  /** The schema version the store has now. */
  version: number;
}

/** Brings a store's schema up to date (creating a SQLite file or PostgreSQL tables where there are none). */
export async function migrateStore(location: string | undefined): Promise<MigrationReport> {
  const resolved = resolveStoreLocation(location);
  if (isPostgresLocation(resolved)) {
    const { migratePostgresStore } = await import('./postgres/postgres-store.ts');
    return { backend: 'postgres', ...(await migratePostgresStore(resolved)) };
  }
  if (resolved === MEMORY_LOCATION)
    throw new StoreError({ message: 'The memory store has no schema to migrate; pass a SQLite path or a postgres:// URL with --db.' });
  const path = resolve(resolved);
  return { location: path, backend: 'sqlite', ...(await migrateSqliteStore(path)) };
}

/**
 * Opens a PostgreSQL store by its URL. The backend's modules load here, on first use, so importing
 * retrial costs a service that records into SQLite (or a collector) nothing for PostgreSQL.
 */
export async function openPostgresStore(url: string, options?: PostgresStoreOptions): Promise<PostgresStore> {
  return (await import('./postgres/postgres-store.ts')).openPostgresStore(url, options);
}
