import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.ts';
import { applySqliteMigrations, assertSchemaKnown, LATEST_SCHEMA_VERSION, readSchemaVersion } from './sqlite-migrations.ts';

/** The subset of a better-sqlite3 statement the store uses, so a fake or another driver can stand in. */
export interface SqliteStatementLike {
  run(...parameters: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
}

/** Returns the cached prepared statement for a SQL text. */
export type StatementSource = (sql: string) => SqliteStatementLike;

/** A function wrapped in a transaction: calling it runs BEGIN ... COMMIT, or ROLLBACK on a throw. */
export interface SqliteTransactionLike<Arguments extends unknown[], Result> {
  (...parameters: Arguments): Result;
  /** BEGIN IMMEDIATE: takes the write lock first, so a read-then-write body cannot deadlock. */
  immediate(...parameters: Arguments): Result;
}

/** The subset of a better-sqlite3 database the store uses. */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<Arguments extends unknown[], Result>(body: (...parameters: Arguments) => Result): SqliteTransactionLike<Arguments, Result>;
  close(): unknown;
}

/** Milliseconds a writer waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating where allowed) a SQLite file, sets WAL and the pragmas, and migrates the
 * schema. Any failure becomes a one-line StoreError naming the path, with the driver's error as
 * its cause, because the user's fix is about the path, not about the driver.
 */
export function openSqliteDatabase(path: string, options: { readonly: boolean }): SqliteDatabaseLike {
  const inMemory = path === ':memory:';
  let database: Database.Database | undefined;
  try {
    if (!inMemory && !options.readonly) createOwnerOnly(path);
    database = new Database(path, { readonly: options.readonly, fileMustExist: options.readonly });
    const like: SqliteDatabaseLike = database;
    like.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!options.readonly) {
      // Takes effect only in a new file: a run's rows are written whole and shrink when it is
      // packed, and the pages that frees go back to the file system when the store closes.
      like.pragma('auto_vacuum = INCREMENTAL');
      like.pragma('journal_mode = WAL');
      like.pragma('synchronous = NORMAL');
      applySqliteMigrations(like, path);
    } else {
      const current = readSchemaVersion(like);
      assertSchemaKnown(current, LATEST_SCHEMA_VERSION, path);
      if (current < LATEST_SCHEMA_VERSION)
        throw new StoreError({
          message: `The store at ${path} has schema version ${current} and needs migrating; open it once without readonly to upgrade it.`,
        });
    }
    // Foreign keys stay off: the store checks run existence itself, and decisions may outlive runs.
    return like;
  } catch (error) {
    database?.close();
    if (error instanceof StoreError) throw error;
    throw new StoreError({ message: `Cannot open the SQLite store at ${path}: ${describeOpenFailure(error)}`, cause: error });
  }
}

/**
 * A new store is readable by its owner only: the file is created empty with mode 0600 before
 * SQLite opens it, and SQLite gives its -wal and -shm the mode of the database file. Directories
 * it creates are 0700. An existing file keeps the mode its owner gave it.
 */
function createOwnerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function describeOpenFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'SQLITE_NOTADB':
      return 'the file is not a SQLite database; pass a new path or an existing retrial database (--db or RETRIAL_DB).';
    case 'SQLITE_CANTOPEN':
      return `${detail}; check that the file exists (for readonly use) and that its directory is writable.`;
    case 'SQLITE_BUSY':
      return 'another process holds the database locked; retry when it is done.';
    case 'SQLITE_READONLY':
    case 'EACCES':
    case 'EROFS':
      return `${detail}; check the file and its directory are writable, or open it readonly.`;
    case 'ENOTDIR':
    case 'EEXIST':
      return `${detail}; a parent of the path is a file, not a directory.`;
    default:
      return `${detail}.`;
  }
}
