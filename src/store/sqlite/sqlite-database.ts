import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
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

let driver: typeof Database | undefined;

/**
 * A better-sqlite3 database. The driver is required when the first store opens rather than with
 * `import('retrial')`, so a service's import stays cheap whichever store it goes on to open.
 */
function createDatabase(filename: string | Buffer, options?: Database.Options): Database.Database {
  driver ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  return new driver(filename, options);
}

/** The schema version of a SQLite file, read without changing it; a file newer than this code is refused. */
export function readSchemaVersionAt(path: string): number {
  let database: Database.Database | undefined;
  try {
    database = createDatabase(path, { readonly: true, fileMustExist: true });
    const version = readSchemaVersion(database);
    assertSchemaKnown(version, LATEST_SCHEMA_VERSION, path);
    return version;
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError({ message: `Cannot open the SQLite store at ${path}: ${describeOpenFailure(error)}`, cause: error });
  } finally {
    database?.close();
  }
}

/** Milliseconds a writer waits for another process's write lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating where allowed) a SQLite file, sets WAL and the pragmas, and migrates the
 * schema. Any failure becomes a one-line StoreError naming the path, with the driver's error as
 * its cause, because the user's fix is about the path, not about the driver. Readonly writes
 * nothing: no migration, no pragma that changes the file; a file that needs a migration is refused.
 */
export function openSqliteDatabase(path: string, options: { readonly: boolean }): SqliteDatabaseLike {
  const inMemory = path === ':memory:';
  let database: Database.Database | undefined;
  try {
    if (options.readonly && !inMemory) {
      database = openReadonly(path);
      assertCurrentForReading(database, path);
      return database;
    }
    if (!inMemory) createOwnerOnly(path);
    database = createDatabase(path);
    const like: SqliteDatabaseLike = database;
    like.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Takes effect only in a new file: a run's rows are written whole and shrink when it is
    // packed, and the pages that frees go back to the file system when the store closes.
    like.pragma('auto_vacuum = INCREMENTAL');
    like.pragma('journal_mode = WAL');
    like.pragma('synchronous = NORMAL');
    applySqliteMigrations(like, path);
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

/**
 * A WAL file opened readonly still needs its `-shm` index, which SQLite creates next to the file:
 * in a read-only directory it cannot. A store closed cleanly has no `-wal` content, so its file
 * alone is the whole database: then it is read from a copy in memory, marked as not in WAL mode
 * (bytes 18-19 of the header), which leaves the file itself untouched. One with a log is read
 * from a copy of both on disk.
 */
function openReadonly(path: string): Database.Database {
  const database = createDatabase(path, { readonly: true, fileMustExist: true });
  try {
    database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    database.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get();
    return database;
  } catch (error) {
    database.close();
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !/^SQLITE_(READONLY|CANTOPEN)/.test(code)) throw error;
    const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
    // Committed transactions may sit in the log: reading the file alone would miss them (and any
    // change they made). Copy the file and its log where SQLite may make its index, and read that.
    if (wal !== undefined && wal.size > 0) return openCopyWithLog(path, error);
    const image = readFileSync(path);
    if (image[18] === 2 && image[19] === 2) {
      image[18] = 1;
      image[19] = 1;
    }
    return createDatabase(image, { readonly: true });
  }
}

/** A read-only store with a non-empty write-ahead log, read from a private copy of both (removed at exit). */
function openCopyWithLog(path: string, cause: unknown): Database.Database {
  const directory = mkdtempSync(join(tmpdir(), 'retrial-readonly-'));
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  const copy = join(directory, 'store.db');
  try {
    copyFileSync(path, copy);
    copyFileSync(`${path}-wal`, `${copy}-wal`);
    return createDatabase(copy, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StoreError({
      message: `Cannot read the SQLite store at ${path} readonly: its directory is not writable and its write-ahead log (${path}-wal) could not be read through a copy (${(error as Error).message}); open it from a writable directory.`,
      cause: error ?? cause,
    });
  }
}

/** Refuses a file readonly use cannot read as it is: newer than this code, or not yet migrated to it. */
function assertCurrentForReading(database: SqliteDatabaseLike, path: string): void {
  const current = readSchemaVersion(database);
  assertSchemaKnown(current, LATEST_SCHEMA_VERSION, path);
  if (current < LATEST_SCHEMA_VERSION)
    throw new StoreError({
      message: `The store at ${path} has schema version ${current} and needs migrating to ${LATEST_SCHEMA_VERSION} before it can be read without writing to it; open it once with a command that writes (for example \`npx retrial runs --db ${path}\`), or verify a migrated copy.`,
    });
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
