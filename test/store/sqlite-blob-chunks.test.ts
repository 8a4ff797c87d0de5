import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportRun, importRun, openSqliteStore, type SqliteStore, verifyRun, type WriteBatch } from '../../src/store/index.ts';
import { applySqliteMigrations, SQLITE_MIGRATIONS } from '../../src/store/sqlite/sqlite-migrations.ts';
import { createBlob, decodeBlobText, encodeBlob, plainBlob, type StoredBlob, sealRun } from '../../src/tape/index.ts';
import { type BuiltRun, buildRun, singleBatchOf } from './tape-builder.ts';

/** A value whose deflated JSON (~600 KB) is stored as chunks: base64 of random bytes barely deflates. */
function largeValue(): unknown {
  return {
    attachment: (
      randomBytes(600 * 1024)
        .toString('base64')
        .match(/.{1,76}/g) as string[]
    ).join('\r\n'),
  };
}

/** A run whose output is `value` (a large blob), sealed over that ending. */
function runWithOutput(runId: string, value: unknown, encode: (hash: string, json: string) => StoredBlob = encodeBlob): { run: BuiltRun; blob: StoredBlob } {
  const run = buildRun({ runId });
  const { hash, json } = createBlob(value);
  const blob = encode(hash, json);
  const ending = { ...(run.ending as NonNullable<BuiltRun['ending']>), output: hash };
  const final = { ...run.final, ending, sealHash: sealRun(run.final.headHash, ending) };
  return { run: { ...run, ending, final, blobs: [...run.blobs, blob] }, blob };
}

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SQLite: large blobs are written as chunks in short transactions', () => {
  let directory = '';
  let path = '';
  const opened: SqliteStore[] = [];
  const peeks: Database.Database[] = [];
  const open = async () => {
    const store = await openSqliteStore(path);
    opened.push(store);
    return store;
  };
  /** Another connection to the file, to look at what a reader sees. */
  const peek = () => {
    const database = new Database(path);
    peeks.push(database);
    return database;
  };
  const count = (database: Database.Database, sql: string) => (database.prepare(sql).get() as { n: number }).n;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'retrial-chunks-'));
    path = join(directory, 'store.db');
  });
  afterEach(async () => {
    for (const database of peeks.splice(0)) database.close();
    for (const store of opened.splice(0)) await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('stores the blob as chunks and reads back the same bytes; plain JSON is deflated first', async () => {
    const store = await open();
    const deflated = runWithOutput('run_deflated', largeValue());
    const plain = runWithOutput('run_plain', largeValue(), plainBlob);
    await store.write(singleBatchOf(deflated.run));
    await store.write(singleBatchOf(plain.run));
    const database = peek();
    expect(count(database, 'SELECT COUNT(*) AS n FROM blobs WHERE chunk_set IS NOT NULL')).toBe(2);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunks')).toBeGreaterThanOrEqual(4);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunk_sets')).toBe(0);
    const read = await store.getBlobs([deflated.blob.hash, plain.blob.hash]);
    expect(Buffer.from(read.get(deflated.blob.hash)?.data ?? []).equals(Buffer.from(deflated.blob.data))).toBe(true);
    expect(read.get(plain.blob.hash)?.encoding).toBe('json+deflate');
    expect(decodeBlobText(read.get(plain.blob.hash) as StoredBlob)).toBe(decodeBlobText(plain.blob));
    await store.idle();
    expect((await verifyRun(store, 'run_deflated')).problems).toEqual([]);
    // Packing leaves the chunked blob where it is; the stats count its chunks.
    expect(count(database, 'SELECT COUNT(*) AS n FROM blobs WHERE chunk_set IS NOT NULL')).toBe(2);
    const stats = await store.stats();
    expect(stats.contentBytesStored).toBeGreaterThan(deflated.blob.data.byteLength + 300 * 1024);
  });

  it('makes the blob visible only with the batch: a reader between its chunks sees no blob', async () => {
    const store = await open();
    const reader = await openSqliteStore(path);
    opened.push(reader);
    const { run, blob } = runWithOutput('run_atomic', largeValue());
    const database = peek();
    const seen: Array<{ chunks: number; blob: boolean; run: boolean }> = [];
    let done = false;
    const writing = store.write(singleBatchOf(run)).then(() => {
      done = true;
    });
    while (!done) {
      seen.push({
        chunks: count(database, 'SELECT COUNT(*) AS n FROM blob_chunks'),
        blob: (await reader.getBlobs([blob.hash])).has(blob.hash),
        run: (await reader.getRun('run_atomic')) !== undefined,
      });
      await yieldTurn();
    }
    await writing;
    // Chunks landed while neither the blob nor its run could be read.
    expect(seen.some((view) => view.chunks > 0 && !view.blob && !view.run)).toBe(true);
    expect(seen.some((view) => view.blob || view.run)).toBe(false);
    expect(decodeBlobText((await reader.getBlobs([blob.hash])).get(blob.hash) as StoredBlob)).toBe(decodeBlobText(blob));
  });

  it('cleans the chunks of a batch that fails, and of a blob some other write stored first', async () => {
    const store = await open();
    const { run, blob } = runWithOutput('run_failing', largeValue());
    const refused: WriteBatch = { ...singleBatchOf(run), appends: [{ runId: 'run_unknown', events: run.events, headHash: run.final.headHash }] };
    await expect(store.write(refused)).rejects.toThrow();
    await store.idle();
    const database = peek();
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunks')).toBe(0);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunk_sets')).toBe(0);
    expect((await store.getBlobs([blob.hash])).size).toBe(0);

    // Two writes of one blob: the first commits; the second finds it stored and writes no chunks.
    await store.write(singleBatchOf(run));
    const again = runWithOutput('run_again', JSON.parse(decodeBlobText(blob)));
    await store.write(singleBatchOf(again.run));
    await store.idle();
    expect(count(database, 'SELECT COUNT(DISTINCT chunk_set) AS n FROM blob_chunks')).toBe(1);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunk_sets')).toBe(0);
  });

  it('resumes its chunks when the same batch is written again after the write lock was busy', async () => {
    const store = await open();
    const { run, blob } = runWithOutput('run_locked', { ...(largeValue() as object), more: largeValue() });
    const batch = singleBatchOf(run);
    const database = peek();
    let locked = false;
    const writing = store.write(batch, { lockWaitMs: 5 }).catch((error: unknown) => error);
    // Another process takes the lock once some chunks are in.
    while (!locked) {
      await yieldTurn();
      if (count(database, 'SELECT COUNT(*) AS n FROM blob_chunks') >= 2) {
        database.exec('BEGIN IMMEDIATE');
        locked = true;
      }
    }
    const error = await writing;
    expect(String((error as Error).message)).toMatch(/locked|busy/i);
    const before = count(database, 'SELECT COUNT(*) AS n FROM blob_chunks');
    database.exec('COMMIT');
    await store.write(batch, { lockWaitMs: 5 });
    expect(count(database, 'SELECT COUNT(DISTINCT chunk_set) AS n FROM blob_chunks')).toBe(1);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunks')).toBe(Math.ceil(blob.data.byteLength / (256 * 1024)));
    expect(before).toBeGreaterThanOrEqual(2);
    expect(decodeBlobText((await store.getBlobs([blob.hash])).get(blob.hash) as StoredBlob)).toBe(decodeBlobText(blob));
  });

  it("cleans chunks a dead writer left on the next open's sweep", async () => {
    const store = await open();
    const database = peek();
    const set = Number(
      database.prepare("INSERT INTO blob_chunk_sets (hash, writer_pid, writer_host) VALUES (?, 999999, 'gone-host')").run(randomBytes(32)).lastInsertRowid,
    );
    for (let seq = 0; seq < 3; seq++) database.prepare('INSERT INTO blob_chunks (chunk_set, seq, data) VALUES (?, ?, ?)').run(set, seq, randomBytes(1024));
    await store.markAbandonedRuns(() => true);
    await store.idle();
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunks')).toBe(3);
    await store.markAbandonedRuns((writer) => writer.host !== 'gone-host');
    await store.idle();
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunks')).toBe(0);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blob_chunk_sets')).toBe(0);
  });

  it('exports and imports a run with a chunked blob byte for byte', async () => {
    const { run } = runWithOutput('run_moved', largeValue());
    const store = await open();
    await store.write(singleBatchOf(run));
    const exported = await exportRun(store, 'run_moved');
    const other = await openSqliteStore(join(directory, 'other.db'));
    opened.push(other);
    expect((await importRun(other, exported)).outcome).toBe('imported');
    expect(await exportRun(other, 'run_moved')).toBe(exported);
    const database = new Database(join(directory, 'other.db'));
    peeks.push(database);
    expect(count(database, 'SELECT COUNT(*) AS n FROM blobs WHERE chunk_set IS NOT NULL')).toBe(1);
    await other.idle();
    expect((await verifyRun(other, 'run_moved')).problems).toEqual([]);
  });

  it('reads a large blob a store written before chunks kept in its row', async () => {
    const { hash, json } = createBlob(largeValue());
    const blob = encodeBlob(hash, json);
    const old = new Database(path);
    applySqliteMigrations(
      old,
      path,
      SQLITE_MIGRATIONS.filter((migration) => migration.version <= 6),
    );
    old
      .prepare('INSERT INTO blobs (hash, encoding, size, data, pack_id, pack_offset) VALUES (?, ?, ?, ?, NULL, NULL)')
      .run(Buffer.from(hash, 'hex'), blob.encoding, blob.size, blob.data);
    old.close();
    const store = await open();
    expect(decodeBlobText((await store.getBlobs([hash])).get(hash) as StoredBlob)).toBe(json);
  });
});
