import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cachedBlobValue, forgetCachedBlobs } from '../../src/inspect/blob-cache.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { openSqliteStore, type Store, verifyRun, verifyStore, type WriteBatch } from '../../src/store/index.ts';
import type { StatementSource } from '../../src/store/sqlite/sqlite-database.ts';
import { type DeflatedRunPack, deflateRunPack, planRunPack, type RunPackPlan, storeRunPack } from '../../src/store/sqlite/sqlite-packing.ts';
import { decodeBlobText, EVENT_SCHEMA_REVISION } from '../../src/tape/index.ts';
import { type BuiltRun, batchesOf, buildRun, singleBatchOf } from './tape-builder.ts';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'retrial-pack-')), 'pack.db');

/** One flush carrying several runs' parts, as the recorder writes them. */
const merge = (...batches: WriteBatch[]): WriteBatch => ({
  runsStarted: batches.flatMap((batch) => batch.runsStarted),
  appends: batches.flatMap((batch) => batch.appends),
  blobs: batches.flatMap((batch) => batch.blobs),
  decisions: batches.flatMap((batch) => batch.decisions),
  runsEnded: batches.flatMap((batch) => batch.runsEnded),
});

interface PackRow {
  pack_id: number;
  dictionary_pack_id: number | null;
}

/** Reads the file behind the store's back: where rows point is not part of the Store interface. */
function inspectFile(path: string) {
  const database = new Database(path, { readonly: true });
  const read = {
    packs: () => database.prepare('SELECT pack_id, dictionary_pack_id FROM packs ORDER BY pack_id').all() as PackRow[],
    runPack: (runId: string) => (database.prepare('SELECT run_pack_id FROM runs WHERE run_id = ?').get(runId) as { run_pack_id: number | null }).run_pack_id,
    eventPacks: (runId: string) =>
      (database.prepare('SELECT pack_id FROM events WHERE run_id = ? ORDER BY seq').all(runId) as Array<{ pack_id: number | null }>).map((row) => row.pack_id),
    blobPack: (hash: string) =>
      (database.prepare('SELECT pack_id FROM blobs WHERE hash = ?').get(Buffer.from(hash, 'hex')) as { pack_id: number | null } | undefined)?.pack_id,
  };
  return { ...read, close: () => database.close() };
}

/**
 * Rewrites the (keyframe, so dictionary-free) pack of a run stored alone: `edit` gets the index
 * and the bytes after the index line and returns them changed.
 */
function rewriteRunPack(path: string, runId: string, edit: (index: Record<string, unknown>, body: string) => [Record<string, unknown>, string]): void {
  const database = new Database(path);
  const { pack_id: packId, data } = database
    .prepare('SELECT p.pack_id, p.data FROM packs p JOIN runs r ON r.run_pack_id = p.pack_id WHERE r.run_id = ? AND p.dictionary_pack_id IS NULL')
    .get(runId) as { pack_id: number; data: Buffer };
  const raw = inflateRawSync(data);
  const newline = raw.indexOf(0x0a);
  const [index, body] = edit(JSON.parse(raw.toString('utf8', 0, newline)) as Record<string, unknown>, raw.toString('utf8', newline + 1));
  database.prepare('UPDATE packs SET data = ? WHERE pack_id = ?').run(deflateRawSync(Buffer.from(`${JSON.stringify(index)}\n${body}`)), packId);
  database.close();
}

/** Writes one finished run into a new store at `path` and closes it, so its pack is on disk. */
async function storeOneRun(path: string, run: BuiltRun): Promise<void> {
  const store = await openSqliteStore(path);
  await store.write(singleBatchOf(run));
  await store.close();
}

/** Writes a finished run whose pack transaction fails (a trigger refuses it), so it stays in its rows. */
async function writeLeftUnpacked(path: string, store: Store, run: BuiltRun): Promise<void> {
  const blocker = new Database(path);
  blocker.exec("CREATE TRIGGER refuse_pack BEFORE UPDATE OF run_pack_id ON runs WHEN NEW.run_pack_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'refused'); END;");
  await store.write(singleBatchOf(run));
  await (store as Store & { idle(): Promise<void> }).idle();
  blocker.exec('DROP TRIGGER refuse_pack');
  blocker.close();
}

async function verdicts(store: Store): Promise<boolean[]> {
  const all: boolean[] = [];
  for await (const verification of verifyStore(store)) all.push(verification.ok);
  return all;
}

describe('SQLite packs: a run is packed whole when it ends, and replay reads it from that pack', () => {
  it('keeps a recording run in plain rows, then moves its events and the blobs it first wrote into one pack when it ends', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const run = buildRun({ runId: 'run-a' });
    const [first, second] = batchesOf(run);
    await store.write(first);
    let file = inspectFile(path);
    expect(file.runPack('run-a')).toBeNull();
    expect(file.eventPacks('run-a')).toEqual([null, null, null]);
    file.close();
    expect((await store.getTape('run-a')).blobs.size).toBe(0);

    await store.write(second);
    await store.idle();
    file = inspectFile(path);
    const packId = file.runPack('run-a');
    expect(packId).not.toBeNull();
    expect(file.eventPacks('run-a')).toEqual(run.events.map(() => packId));
    for (const blob of run.blobs) expect(file.blobPack(blob.hash)).toBe(packId);
    file.close();

    const tape = await store.getTape('run-a');
    expect(tape.eventTexts).toEqual(run.events.map((event) => event.json));
    expect([...tape.blobs.keys()].sort()).toEqual(run.blobs.map((blob) => blob.hash).sort());
    for (const blob of run.blobs) expect(decodeBlobText(tape.blobs.get(blob.hash) as never)).toBe(decodeBlobText(blob));
    expect((await verifyRun(store, 'run-a')).problems).toEqual([]);
    await store.close();
  });

  it('leaves a blob another run packed first where it is, and still loads the second run whole', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const prompt = `Shared prompt ${'policy text '.repeat(60)}`;
    const first = buildRun({ runId: 'run-a', systemPrompt: prompt });
    const second = buildRun({ runId: 'run-b', systemPrompt: prompt });
    await store.write(singleBatchOf(first));
    await store.write(singleBatchOf(second));
    await store.idle();
    const shared = second.blobs.filter((blob) => first.blobs.some((other) => other.hash === blob.hash)).map((blob) => blob.hash);
    expect(shared.length).toBeGreaterThan(0);
    const file = inspectFile(path);
    for (const hash of shared) expect(file.blobPack(hash)).toBe(file.runPack('run-a'));
    file.close();
    const tape = await store.getTape('run-b');
    for (const hash of shared) expect(tape.blobs.has(hash)).toBe(false);
    forgetCachedBlobs();
    const loaded = await loadTape(store, 'run-b');
    expect(loaded.events.length).toBe(second.events.length);
    for (const hash of shared) expect(() => loaded.blob(hash)).not.toThrow();
    // Blobs other runs may share stay cached for the next load; the run's own stay out of the cache.
    for (const hash of shared) expect(cachedBlobValue(hash)).toBeDefined();
    const own = [...tape.blobs.keys()];
    expect(own.length).toBeGreaterThan(0);
    for (const hash of own) expect(cachedBlobValue(hash)).toBeUndefined();
    await store.close();
  });

  it('deflates each pack against a keyframe, so reading any pack needs at most one other, also after reopening', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const runs = Array.from({ length: 40 }, (_, index) =>
      buildRun({ runId: `run-${String(index).padStart(2, '0')}`, systemPrompt: `Prompt ${index % 3} ${'policy text '.repeat(60)}` }),
    );
    for (const run of runs) await store.write(singleBatchOf(run));
    await store.close();

    const file = inspectFile(path);
    const packs = file.packs();
    file.close();
    expect(packs.length).toBe(40);
    const keyframes = new Set(packs.filter((pack) => pack.dictionary_pack_id === null).map((pack) => pack.pack_id));
    expect(keyframes.size).toBeGreaterThanOrEqual(2);
    for (const pack of packs) if (pack.dictionary_pack_id !== null) expect(keyframes.has(pack.dictionary_pack_id)).toBe(true);

    const reopened = await openSqliteStore(path);
    for (const run of [runs[39], runs[17], runs[0]]) {
      if (!run) continue;
      expect((await reopened.getTape(run.runId)).eventTexts).toEqual(run.events.map((event) => event.json));
      expect((await reopened.getEvents(run.runId)).map((event) => event.json)).toEqual(run.events.map((event) => event.json));
    }
    expect(await verdicts(reopened)).toEqual(new Array(40).fill(true));
    await reopened.close();
  });

  it('never deflates against a keyframe whose pack transaction rolled back, and packs the run left over on the next open', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    // The first run's pack would be a keyframe; make its transaction fail after the pack row is in.
    const first = buildRun({ runId: 'run-first' });
    await writeLeftUnpacked(path, store, first);
    expect((await store.getRun('run-first'))?.status).toBe('complete');
    let file = inspectFile(path);
    expect(file.packs()).toEqual([]);
    expect(file.runPack('run-first')).toBeNull();
    file.close();

    // A run too large to become a keyframe, then a small one: both are deflated alone.
    const large = buildRun({ runId: 'run-large', systemPrompt: Array.from({ length: 12_000 }, (_, index) => `clause ${index * 7919}`).join('; ') });
    const second = buildRun({ runId: 'run-second' });
    await store.write(singleBatchOf(large));
    await store.write(singleBatchOf(second));
    await store.idle();
    file = inspectFile(path);
    const packs = file.packs();
    expect(packs.map((pack) => pack.dictionary_pack_id)).toEqual([null, null]);
    file.close();
    expect((await store.getTape('run-second')).blobs.size).toBeGreaterThan(0);
    expect((await store.getTape('run-second')).eventTexts).toEqual(second.events.map((event) => event.json));
    expect((await store.getTape('run-first')).eventTexts).toEqual(first.events.map((event) => event.json));

    // The next open finds the ended run without a pack and packs it.
    await store.markAbandonedRuns(() => true);
    await store.idle();
    file = inspectFile(path);
    expect(file.runPack('run-first')).not.toBeNull();
    file.close();
    expect((await verifyRun(store, 'run-first')).ok).toBe(true);
    await store.close();
  });

  it('packs a run once when two packers planned it at the same time: the second finds it packed and writes nothing', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const run = buildRun({ runId: 'run-a' });
    await writeLeftUnpacked(path, store, run);
    await store.close();

    // Two packers (two processes opening the store, say) both plan and deflate the unpacked run.
    const database = new Database(path);
    const statement: StatementSource = (sql) => database.prepare(sql);
    const plans = [planRunPack(statement, 'run-a'), planRunPack(statement, 'run-a')];
    expect(plans.every((plan) => plan !== null)).toBe(true);
    const deflated = await Promise.all(plans.map((plan) => deflateRunPack(statement, plan as RunPackPlan)));
    const store1 = database.transaction(() => storeRunPack(statement, plans[0] as RunPackPlan, deflated[0] as DeflatedRunPack));
    const store2 = database.transaction(() => storeRunPack(statement, plans[1] as RunPackPlan, deflated[1] as DeflatedRunPack));
    expect(store1.immediate()).toBe(true);
    expect(store2.immediate()).toBe(false);
    database.close();

    const file = inspectFile(path);
    expect(file.packs()).toHaveLength(1);
    expect(file.eventPacks('run-a')).toEqual(run.events.map(() => file.runPack('run-a')));
    file.close();
    const reopened = await openSqliteStore(path);
    expect((await verifyRun(reopened, 'run-a')).problems).toEqual([]);
    expect((await reopened.getTape('run-a')).eventTexts).toEqual(run.events.map((event) => event.json));
    await reopened.close();
  });

  it('gives the pages that packing frees back to the file system when the store closes', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    for (let index = 0; index < 8; index++) {
      const [first, second] = batchesOf(buildRun({ runId: `run-${index}`, systemPrompt: `Prompt ${index} ${'policy text '.repeat(400)}` }));
      await store.write(first);
      await store.write(second);
    }
    await store.idle();
    const before = new Database(path, { readonly: true });
    const freeWhileOpen = (before.pragma('freelist_count', { simple: true }) as number) ?? 0;
    before.close();
    expect(freeWhileOpen).toBeGreaterThan(0);
    await store.close();
    const after = new Database(path, { readonly: true });
    expect(after.pragma('freelist_count', { simple: true })).toBe(0);
    after.close();
  });

  it('stores much less than the raw content', async () => {
    const store = await openSqliteStore(freshPath());
    for (let index = 0; index < 10; index++) await store.write(singleBatchOf(buildRun({ runId: `run-${index}` })));
    await store.idle();
    const stats = await store.stats();
    expect(stats.contentBytesStored).toBeLessThan((stats.eventBytesRaw + stats.blobBytesRaw) / 4);
    await store.close();
  });

  it('packs an imported run at once', async () => {
    const source = await openSqliteStore(freshPath());
    await source.write(singleBatchOf(buildRun({ runId: 'run-a' })));
    const targetPath = freshPath();
    const target = await openSqliteStore(targetPath);
    expect(await target.importRunBundle(await source.getRunBundle('run-a'))).toBe('imported');
    await target.idle();
    const file = inspectFile(targetPath);
    const packId = file.runPack('run-a');
    expect(packId).not.toBeNull();
    expect(new Set(file.eventPacks('run-a'))).toEqual(new Set([packId]));
    file.close();
    expect((await target.getTape('run-a')).eventTexts).toEqual((await source.getEvents('run-a')).map((event) => event.json));
    await source.close();
    await target.close();
  });

  it('reports a run whose pack pointer leads to another run as a mismatch between what replay reads and the rows', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    await store.write(singleBatchOf(buildRun({ runId: 'run-a' })));
    await store.write(singleBatchOf(buildRun({ runId: 'run-b', systemPrompt: 'Another prompt entirely.' })));
    await store.close();
    const database = new Database(path);
    database.prepare("UPDATE runs SET run_pack_id = (SELECT run_pack_id FROM runs WHERE run_id = 'run-b') WHERE run_id = 'run-a'").run();
    database.close();
    const reopened = await openSqliteStore(path);
    const verification = await verifyRun(reopened, 'run-a');
    expect(verification.ok).toBe(false);
    expect(verification.problems.map((problem) => problem.code)).toContain('TAPE_MISMATCH');
    expect((await verifyRun(reopened, 'run-b')).ok).toBe(true);
    await reopened.close();
  });

  it('packs runs that end together, share a blob with a run still recording, hold multi-byte text, and are written over two connections', async () => {
    const path = freshPath();
    const prompt = `Règle — 日本語 ✓ ${'policy ünïcode '.repeat(80)}`;
    const built = (id: string) => buildRun({ runId: `run-${id}`, systemPrompt: prompt });
    const runs = [built('a'), built('b'), built('c'), built('d')];
    const [a, b, c, d] = runs.map((run) => batchesOf(run)) as [
      [WriteBatch, WriteBatch],
      [WriteBatch, WriteBatch],
      [WriteBatch, WriteBatch],
      [WriteBatch, WriteBatch],
    ];
    const one = await openSqliteStore(path);
    const two = await openSqliteStore(path);
    await one.write(merge(a[0], b[0], c[0]));
    await two.write(d[0]);
    await one.write(merge(a[1], b[1]));
    // c cannot end twice in one batch with a: the batch rolls back whole, and c goes on recording.
    await expect(one.write(merge(c[1], a[1]))).rejects.toThrow();
    await two.write(merge(c[1], d[1]));
    await one.close();
    await two.close();
    const reopened = await openSqliteStore(path);
    const file = inspectFile(path);
    for (const run of runs) {
      expect(file.runPack(run.runId)).not.toBeNull();
      expect((await reopened.getTape(run.runId)).eventTexts).toEqual(run.events.map((event) => event.json));
      expect((await verifyRun(reopened, run.runId)).problems).toEqual([]);
      expect((await loadTape(reopened, run.runId)).events.length).toBe(run.events.length);
    }
    file.close();
    await reopened.close();
  });

  it('leaves a run whose events do not check out in its rows, so restoring the damaged pack heals it', async () => {
    const path = freshPath();
    const run = buildRun({ runId: 'run-a' });
    const [first, second] = batchesOf(run, { splitAt: 4 });
    let store = await openSqliteStore(path);
    await store.write(first);
    await store.close();
    // Put the first flush where an older retrial put it: in a pack chained to another, then damage that other.
    let database = new Database(path);
    const keyRaw = Buffer.from('{"kind":"note","text":"an earlier flush"}');
    const keyId = Number(
      database.prepare("INSERT INTO packs (encoding, size, data, dictionary_pack_id) VALUES ('deflate', ?, ?, NULL)").run(keyRaw.length, deflateRawSync(keyRaw))
        .lastInsertRowid,
    );
    const texts = run.events.slice(0, 4).map((event) => Buffer.from(event.json));
    const raw = Buffer.concat(texts);
    const packId = Number(
      database
        .prepare("INSERT INTO packs (encoding, size, data, dictionary_pack_id) VALUES ('deflate', ?, ?, ?)")
        .run(raw.length, deflateRawSync(raw, { dictionary: keyRaw }), keyId).lastInsertRowid,
    );
    let offset = 0;
    texts.forEach((text, seq) => {
      database
        .prepare("UPDATE events SET json = '', pack_id = ?, pack_offset = ?, pack_length = ? WHERE run_id = 'run-a' AND seq = ?")
        .run(packId, offset, text.length, seq);
      offset += text.length;
    });
    const backup = (database.prepare('SELECT data FROM packs WHERE pack_id = ?').get(keyId) as { data: Buffer }).data;
    database.prepare("UPDATE packs SET data = x'ff' WHERE pack_id = ?").run(keyId);
    database.close();

    store = await openSqliteStore(path);
    await store.write(second);
    expect((await verifyRun(store, 'run-a')).ok).toBe(false);
    await store.close();
    let file = inspectFile(path);
    expect(file.runPack('run-a')).toBeNull();
    file.close();
    database = new Database(path);
    database.prepare('UPDATE packs SET data = ? WHERE pack_id = ?').run(backup, keyId);
    database.close();
    store = await openSqliteStore(path);
    expect((await store.getEvents('run-a')).map((event) => event.json)).toEqual(run.events.map((event) => event.json));
    expect((await verifyRun(store, 'run-a')).ok).toBe(true);
    await store.close();
    file = inspectFile(path);
    expect(file.runPack('run-a')).toBeNull();
    file.close();
  });

  it('leaves a damaged blob in its row and still ends the run and writes the rest of the batch', async () => {
    const path = freshPath();
    const a = buildRun({ runId: 'run-a' });
    const b = buildRun({ runId: 'run-b', systemPrompt: 'b' });
    const [a1, a2] = batchesOf(a);
    const [b1, b2] = batchesOf(b);
    let store = await openSqliteStore(path);
    await store.write(merge(a1, b1));
    await store.close();
    const database = new Database(path);
    expect(database.prepare("UPDATE blobs SET data = x'ffff' WHERE encoding = 'json+deflate'").run().changes).toBeGreaterThan(0);
    database.close();
    store = await openSqliteStore(path);
    await store.write(merge(a2, { ...b2, runsEnded: [] }));
    expect((await store.getRun('run-a'))?.status).toBe('complete');
    expect((await store.getEvents('run-b')).length).toBe(b.events.length);
    const problems = (await verifyRun(store, 'run-a')).problems.map((problem) => problem.code);
    expect(problems).toContain('BLOB_CORRUPT');
    await store.close();
    // The run is packed all the same, without the damaged blob.
    const file = inspectFile(path);
    expect(file.runPack('run-a')).not.toBeNull();
    const damaged = a.blobs.filter((blob) => blob.encoding === 'json+deflate').map((blob) => blob.hash);
    for (const hash of damaged) expect(file.blobPack(hash)).toBeNull();
    file.close();
  });

  it('leaves a blob whose bytes do not hash to its address in its row, and packs the rest', async () => {
    const path = freshPath();
    const run = buildRun({ runId: 'run-a' });
    const [first, second] = batchesOf(run);
    let store = await openSqliteStore(path);
    await store.write(first);
    await store.close();
    const plain = run.blobs.find((blob) => blob.encoding === 'json' && decodeBlobText(blob).includes('a'));
    if (!plain) throw new Error('the built run has no plain blob with an "a" in it');
    const database = new Database(path);
    const changed = Buffer.from(decodeBlobText(plain).replace('a', 'b'));
    expect(database.prepare('UPDATE blobs SET data = ? WHERE hash = ?').run(changed, Buffer.from(plain.hash, 'hex')).changes).toBe(1);
    database.close();
    store = await openSqliteStore(path);
    await store.write(second);
    await store.idle();
    const file = inspectFile(path);
    expect(file.runPack('run-a')).not.toBeNull();
    expect(file.blobPack(plain.hash)).toBeNull();
    file.close();
    expect((await verifyRun(store, 'run-a')).problems.map((problem) => problem.blob)).toContain(plain.hash);
    await store.close();
  });

  it('falls back to the rows when a run pack cannot be read, and loading the run then says it is damaged', async () => {
    const path = freshPath();
    await storeOneRun(path, buildRun({ runId: 'run-a' }));
    const database = new Database(path);
    database.prepare("UPDATE packs SET data = x'ff00ff' WHERE pack_id = (SELECT run_pack_id FROM runs WHERE run_id = 'run-a')").run();
    database.close();
    const store = await openSqliteStore(path);
    const tape = await store.getTape('run-a');
    expect(tape.blobs.size).toBe(0);
    expect(tape.eventTexts[0]).toMatch(/^<unreadable pack/);
    await expect(loadTape(store, 'run-a')).rejects.toMatchObject({ code: 'TAPE_FORMAT' });
    await store.close();
  });

  it('reads the rows instead of a run pack whose index does not fit it', async () => {
    const path = freshPath();
    const run = buildRun({ runId: 'run-a' });
    await storeOneRun(path, run);
    // The first pack of a connection is a keyframe, deflated alone: rewrite its index so the
    // first event claims one byte more, keeping the index line's length (and the rows' offsets).
    const database = new Database(path);
    const { pack_id: packId, data } = database
      .prepare("SELECT p.pack_id, p.data FROM packs p JOIN runs r ON r.run_pack_id = p.pack_id WHERE r.run_id = 'run-a'")
      .get() as {
      pack_id: number;
      data: Buffer;
    };
    const raw = inflateRawSync(data);
    const newline = raw.indexOf(0x0a);
    const index = JSON.parse(raw.toString('utf8', 0, newline)) as { events: number[] };
    const first = index.events[0] as number;
    const longer = first + (String(first + 1).length === String(first).length ? 1 : -1);
    const line = raw.toString('utf8', 0, newline).replace(`"events":[${first},`, `"events":[${longer},`);
    expect(Buffer.byteLength(line)).toBe(newline);
    database.prepare('UPDATE packs SET data = ? WHERE pack_id = ?').run(deflateRawSync(Buffer.concat([Buffer.from(line), raw.subarray(newline)])), packId);
    database.close();
    const store = await openSqliteStore(path);
    const tape = await store.getTape('run-a');
    expect(tape.blobs.size).toBe(0);
    expect(tape.eventTexts).toEqual(run.events.map((event) => event.json));
    await store.close();
  });

  it('packs a run the writer abandoned once it is marked incomplete', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const run = buildRun({ runId: 'run-a', ending: null });
    await store.write(batchesOf(run)[0]);
    expect(await store.markAbandonedRuns(() => false)).toEqual(['run-a']);
    await store.idle();
    const file = inspectFile(path);
    expect(file.runPack('run-a')).not.toBeNull();
    file.close();
    expect((await store.getTape('run-a')).eventTexts).toEqual(run.events.slice(0, 3).map((event) => event.json));
    expect((await verifyRun(store, 'run-a')).ok).toBe(true);
    await store.close();
  });

  it('bounds the pack of a large run: blobs beyond it go in overflow packs, read through their rows', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path, { runPackLimits: { runPackBytes: 12_000, overflowBytes: 6_000 } });
    const run = buildRun({ runId: 'run-big', systemPrompt: `Big prompt ${'policy text, long and varied: '.repeat(400)}` });
    const rawBytes = run.blobs.reduce((total, blob) => total + blob.size, 0);
    expect(rawBytes).toBeGreaterThan(12_000);
    await store.write(singleBatchOf(run));
    await store.idle();
    const file = inspectFile(path);
    const runPack = file.runPack('run-big');
    expect(runPack).not.toBeNull();
    expect(new Set(file.eventPacks('run-big'))).toEqual(new Set([runPack]));
    const elsewhere = run.blobs.filter((blob) => file.blobPack(blob.hash) !== runPack);
    expect(elsewhere.length).toBeGreaterThan(0);
    for (const blob of elsewhere) expect(file.blobPack(blob.hash)).not.toBeNull();
    file.close();
    const tape = await store.getTape('run-big');
    expect(tape.eventTexts).toEqual(run.events.map((event) => event.json));
    for (const blob of elsewhere) expect(tape.blobs.has(blob.hash)).toBe(false);
    const loaded = await loadTape(store, 'run-big');
    for (const blob of run.blobs) expect(JSON.stringify(loaded.blob(blob.hash))).toBe(decodeBlobText(blob));
    expect((await verifyRun(store, 'run-big')).problems).toEqual([]);
    await store.close();
  });

  it('leaves a blob larger than maxPackedBlobBytes in its row: nothing reads or moves it at the end of the run, and it still reads and verifies', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path, { runPackLimits: { runPackBytes: 1_000_000, overflowBytes: 500_000, maxPackedBlobBytes: 5_000 } });
    const run = buildRun({ runId: 'run-huge-blob', systemPrompt: `Big prompt ${'policy text, long and varied: '.repeat(400)}` });
    const large = run.blobs.filter((blob) => blob.size > 5_000);
    expect(large.length).toBeGreaterThan(0);
    await store.write(singleBatchOf(run));
    await store.idle();
    const file = inspectFile(path);
    expect(file.runPack('run-huge-blob')).not.toBeNull();
    for (const blob of large) expect(file.blobPack(blob.hash)).toBeNull();
    for (const blob of run.blobs.filter((blob) => blob.size <= 5_000)) expect(file.blobPack(blob.hash)).not.toBeNull();
    file.close();
    const loaded = await loadTape(store, 'run-huge-blob');
    for (const blob of run.blobs) expect(JSON.stringify(loaded.blob(blob.hash))).toBe(decodeBlobText(blob));
    expect((await verifyRun(store, 'run-huge-blob')).problems).toEqual([]);
    await store.close();
  });

  it('notes in the pack that every event passed the schema, so loading skips it; a run with an event the schema refuses gets no such note', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const valid = buildRun({ runId: 'run-valid' });
    const invalid = buildRun({ runId: 'run-invalid', unvalidatedPatch: { kind: 'clock', fields: { value: 'soon' } } });
    await store.write(singleBatchOf(valid));
    await store.write(singleBatchOf(invalid));
    await store.idle();
    const file = inspectFile(path);
    expect(file.runPack('run-valid')).not.toBeNull();
    expect(file.runPack('run-invalid')).not.toBeNull();
    file.close();
    expect((await store.getTape('run-valid')).eventsValidUnder).toBe(EVENT_SCHEMA_REVISION);
    expect((await store.getTape('run-invalid')).eventsValidUnder).toBeUndefined();
    expect((await loadTape(store, 'run-valid')).events.map((event) => event.kind)).toEqual(valid.events.map((event) => event.kind));
    await expect(loadTape(store, 'run-invalid')).rejects.toThrow(/run run-invalid event 4: clock event/);
    await store.close();
  });

  it('reads the rows instead of a run pack whose index line is JSON but not an index, and loading then says it is damaged', async () => {
    const path = freshPath();
    const run = buildRun({ runId: 'run-a' });
    await storeOneRun(path, run);
    rewriteRunPack(path, 'run-a', (_index, body) => [null as never, body]);
    const store = await openSqliteStore(path);
    const tape = await store.getTape('run-a');
    expect(tape.blobs.size).toBe(0);
    expect(tape.eventsValidUnder).toBeUndefined();
    // The rows point into the rewritten pack, so what they read is damaged: said as such, not a TypeError.
    await expect(loadTape(store, 'run-a')).rejects.toThrow(/run run-a event 0 is damaged.*retrial verify/);
    await store.close();
  });

  it('validates again events whose bytes changed since they were packed, and events noted under another schema revision', async () => {
    const path = freshPath();
    await storeOneRun(path, buildRun({ runId: 'run-a' }));
    let store: Store;
    // One byte of the clock event, same length, still JSON, no longer a valid clock source.
    const damage = (body: string) => {
      expect(body).toContain('"source":"Date.now"');
      return body.replace('"source":"Date.now"', '"source":"Date.nov"');
    };
    rewriteRunPack(path, 'run-a', (index, body) => [index, damage(body)]);
    store = await openSqliteStore(path);
    expect((await store.getTape('run-a')).eventsValidUnder).toBeUndefined();
    await expect(loadTape(store, 'run-a')).rejects.toThrow(/run run-a event 4: clock event/);
    await store.close();

    // A note whose checksum fits the damaged bytes is taken at its word for its own revision only:
    // that is all the note vouches for, and why its checksum must cover the bytes.
    const eventBytes = (index: Record<string, unknown>, body: string) =>
      Buffer.from(body).subarray(
        0,
        (index.events as number[]).reduce((total, length) => total + length, 0),
      );
    for (const [revision, loads] of [
      [EVENT_SCHEMA_REVISION + 1, false],
      [EVENT_SCHEMA_REVISION, true],
    ] as const) {
      rewriteRunPack(path, 'run-a', (index, body) => [
        { ...index, valid: { revision, sha256: createHash('sha256').update(eventBytes(index, body)).digest('hex') } },
        body,
      ]);
      store = await openSqliteStore(path);
      expect((await store.getTape('run-a')).eventsValidUnder).toBe(revision);
      if (loads) expect((await loadTape(store, 'run-a')).events).toHaveLength(6);
      else await expect(loadTape(store, 'run-a')).rejects.toThrow(/clock event/);
      await store.close();
    }
  });

  it('reads a store written with the earlier flush packs (schema 4, chained dictionaries) and packs what it records next', async () => {
    // Written by retrial at 97e8dd9: five runs recorded in two flushes, one in one, one never finished.
    const path = freshPath();
    copyFileSync(join(import.meta.dirname, '__fixtures__', 'flush-packs-schema-4.sqlite'), path);
    const store = await openSqliteStore(path);
    const runIds = await store.listRunIds();
    expect(runIds).toHaveLength(7);
    for (const runId of runIds) {
      const tape = await store.getTape(runId);
      expect(tape.blobs.size).toBe(0);
      expect(tape.eventTexts).toEqual((await store.getEvents(runId)).map((event) => event.json));
      expect((await loadTape(store, runId)).events.length).toBe(tape.eventTexts.length);
    }
    expect(await verdicts(store)).toEqual(new Array(7).fill(true));

    const fresh = buildRun({ runId: 'run-new' });
    await store.write(singleBatchOf(fresh));
    await store.idle();
    expect((await store.getTape('run-new')).blobs.size).toBeGreaterThan(0);
    expect((await verifyRun(store, 'run-new')).ok).toBe(true);
    await store.close();
    const file = inspectFile(path);
    expect(file.runPack('run-new')).not.toBeNull();
    file.close();
  });
});
