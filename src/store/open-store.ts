import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { StoreError, StoreNotFoundError } from './errors.ts';
import { createMemoryStore } from './memory/memory-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
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

/**
 * Opens the store a location names (`:memory:`, a SQLite file path, or later a postgres:// URL),
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
  if (/^postgres(ql)?:\/\//i.test(resolved)) {
    throw new StoreError({ message: 'PostgreSQL store is not available in this version yet; use a SQLite path (for example .retrial/retrial.db).' });
  }
  if ((readonly || !create) && resolved !== MEMORY_LOCATION && !holdsAStore(resolved)) throw new StoreNotFoundError({ location: resolved });
  if (resolved === MEMORY_LOCATION) return createMemoryStore();
  const store = await openSqliteStore(resolve(resolved), { readonly });
  if (readonly) return store;
  try {
    await store.markAbandonedRuns();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
