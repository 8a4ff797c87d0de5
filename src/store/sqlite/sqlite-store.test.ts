import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRun, singleBatchOf } from '../../../test/store/tape-builder.ts';
import { StoreError } from '../errors.ts';
import { applySqliteMigrations, LATEST_SCHEMA_VERSION, SQLITE_MIGRATIONS } from './sqlite-migrations.ts';
import { openSqliteStore } from './sqlite-store.ts';

describe('SQLite store', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'retrial-sqlite-'));
  });
  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  /** Reads the file with the driver directly, as another tool would. */
  function inspect<Result>(path: string, read: (database: Database.Database) => Result): Result {
    const database = new Database(path, { readonly: true });
    try {
      return read(database);
    } finally {
      database.close();
    }
  }

  it('records each applied migration once, and applies none on reopen', async () => {
    const path = join(directory, 'nested', 'dirs', 'retrial.db');
    await (await openSqliteStore(path)).close();
    await (await openSqliteStore(path)).close();
    const rows = inspect(path, (database) => database.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all());
    expect(rows).toEqual(SQLITE_MIGRATIONS.map(({ version, name }) => ({ version, name })));
    expect(LATEST_SCHEMA_VERSION).toBe(SQLITE_MIGRATIONS.at(-1)?.version);
  });

  it('applies only the migrations a database lacks, in one transaction', () => {
    const database = new Database(':memory:');
    const migrations = [
      { version: 1, name: 'one', sql: 'CREATE TABLE one (id INTEGER)' },
      { version: 2, name: 'two', sql: 'CREATE TABLE two (id INTEGER)' },
    ];
    expect(applySqliteMigrations(database, 'memory', migrations.slice(0, 1))).toEqual([1]);
    expect(applySqliteMigrations(database, 'memory', migrations)).toEqual([2]);
    const broken = [...migrations, { version: 3, name: 'three', sql: 'CREATE TABLE three (id INTEGER); CREATE TABLE broken (' }];
    expect(() => applySqliteMigrations(database, 'memory', broken)).toThrow();
    expect(database.prepare("SELECT name FROM sqlite_master WHERE name = 'three'").get()).toBeUndefined();
    expect(database.prepare('SELECT MAX(version) AS version FROM schema_migrations').get()).toEqual({ version: 2 });
    database.close();
  });

  it('refuses a database written by a newer retrial and says to upgrade', async () => {
    const path = join(directory, 'retrial.db');
    await (await openSqliteStore(path)).close();
    const writer = new Database(path);
    writer.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'from the future', Date.now());
    writer.close();
    const error = await openSqliteStore(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/upgrade retrial/);
    expect((error as StoreError).message).toContain(path);
    await expect(openSqliteStore(path, { readonly: true })).rejects.toThrow(/upgrade retrial/);
  });

  it('turns a file that is not SQLite into a one-line StoreError naming the path', async () => {
    const path = join(directory, 'notes.txt');
    writeFileSync(path, 'these are my notes, not a database\n'.repeat(100));
    const error = await openSqliteStore(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreError);
    const message = (error as StoreError).message;
    expect(message).toContain(path);
    expect(message).toContain('not a SQLite database');
    expect(message).not.toContain('\n');
    expect((error as StoreError).cause).toBeDefined();
  });

  it('turns a path under a file into a StoreError', async () => {
    const file = join(directory, 'plain-file');
    writeFileSync(file, '');
    await expect(openSqliteStore(join(file, 'retrial.db'))).rejects.toBeInstanceOf(StoreError);
    await expect(openSqliteStore(join(directory, 'missing.db'), { readonly: true })).rejects.toBeInstanceOf(StoreError);
  });

  it('writes in WAL mode and passes its integrity check', async () => {
    const path = join(directory, 'retrial.db');
    const store = await openSqliteStore(path);
    await store.write(singleBatchOf(buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'c', value: 'approve' }] })));
    expect(await store.integrityCheck()).toEqual([]);
    expect(inspect(path, (database) => database.pragma('journal_mode', { simple: true }))).toBe('wal');
    expect((await store.stats()).fileBytes).toBeGreaterThan(0);
    await store.close();
  });

  it('reads but refuses writes when opened readonly', async () => {
    const path = join(directory, 'retrial.db');
    const writer = await openSqliteStore(path);
    const run = buildRun({ runId: 'run-a' });
    await writer.write(singleBatchOf(run));
    await writer.close();
    const reader = await openSqliteStore(path, { readonly: true });
    expect(await reader.getRun('run-a')).toEqual(run.final);
    await expect(reader.write(singleBatchOf(buildRun({ runId: 'run-b' })))).rejects.toThrow(/opened readonly/);
    expect(await reader.markAbandonedRuns(() => false)).toEqual([]);
    await reader.close();
  });

  it('lets two connections to one file write in turn and see each other', async () => {
    const path = join(directory, 'retrial.db');
    const first = await openSqliteStore(path);
    const second = await openSqliteStore(path);
    await first.write(singleBatchOf(buildRun({ runId: 'run-a' })));
    await second.write(singleBatchOf(buildRun({ runId: 'run-b' })));
    expect(await first.listRunIds()).toEqual(['run-a', 'run-b']);
    expect(await second.countRuns()).toBe(2);
    await first.close();
    await second.close();
  });

  it('uses the indexes it was given for the ledger and run filters', async () => {
    const path = join(directory, 'retrial.db');
    await (await openSqliteStore(path)).close();
    const plans = inspect(path, (database) => ({
      ledger: database.prepare("EXPLAIN QUERY PLAN SELECT * FROM decisions d WHERE d.type = 'refund' AND d.effective_at >= 0").all(),
      superseded: database
        .prepare('EXPLAIN QUERY PLAN SELECT * FROM decisions d WHERE NOT EXISTS (SELECT 1 FROM decisions s WHERE s.supersedes = d.decision_id)')
        .all(),
      events: database.prepare("EXPLAIN QUERY PLAN SELECT * FROM events WHERE run_id = 'x' ORDER BY seq").all(),
    }));
    expect(JSON.stringify(plans.ledger)).toContain('decisions_by_type');
    expect(JSON.stringify(plans.superseded)).toContain('decisions_by_supersedes');
    expect(JSON.stringify(plans.events)).toContain('PRIMARY KEY (run_id=?)');
  });
});
