import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, verifyStore } from '../../src/store/index.ts';
import { buildRun, singleBatchOf } from './tape-builder.ts';

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'retrial-pack-')), 'pack.db');

describe('SQLite packs: events and blobs of a batch compressed together, chained by dictionary', () => {
  it('reads back every run written across more than one keyframe interval, also after reopening', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const runs = Array.from({ length: 40 }, (_, index) =>
      buildRun({ runId: `run-${String(index).padStart(2, '0')}`, systemPrompt: `Prompt ${index % 3} ${'policy text '.repeat(60)}` }),
    );
    for (const run of runs) await store.write(singleBatchOf(run));
    await store.close();

    const database = new Database(path, { readonly: true });
    const packs = database.prepare('SELECT pack_id, dictionary_pack_id FROM packs ORDER BY pack_id').all() as Array<{
      pack_id: number;
      dictionary_pack_id: number | null;
    }>;
    database.close();
    expect(packs.length).toBe(40);
    expect(packs.filter((pack) => pack.dictionary_pack_id === null).length).toBeGreaterThanOrEqual(2);
    expect(packs.filter((pack) => pack.dictionary_pack_id !== null).length).toBeGreaterThan(30);

    const reopened = await openSqliteStore(path);
    for (const run of [runs[39], runs[17], runs[0]]) {
      if (!run) continue;
      expect((await reopened.getEvents(run.runId)).map((event) => event.json)).toEqual(run.events.map((event) => event.json));
    }
    const verdicts = [];
    for await (const verification of verifyStore(reopened)) verdicts.push(verification.ok);
    expect(verdicts).toEqual(new Array(40).fill(true));
    await reopened.close();
  });

  it('never chains a pack to one whose transaction rolled back', async () => {
    const path = freshPath();
    const store = await openSqliteStore(path);
    const first = buildRun({ runId: 'run-first', decisions: [{ type: 'refund', subject: 'c-1', value: 'approve', amount: 1 }] });
    await store.write(singleBatchOf(first));
    // Decisions are inserted after the pack: a duplicate decision id fails the batch once its pack
    // row exists, so the whole batch (pack included) rolls back.
    const doomed = singleBatchOf(buildRun({ runId: 'run-doomed' }));
    doomed.decisions.push(...first.decisions);
    await expect(store.write(doomed)).rejects.toThrow();
    expect(await store.getRun('run-doomed')).toBeUndefined();
    const second = buildRun({ runId: 'run-second' });
    await store.write(singleBatchOf(second));
    const database = new Database(path, { readonly: true });
    const packs = database.prepare('SELECT pack_id, dictionary_pack_id FROM packs ORDER BY pack_id').all() as Array<{
      pack_id: number;
      dictionary_pack_id: number | null;
    }>;
    database.close();
    expect(packs).toHaveLength(2);
    expect(packs[1]?.dictionary_pack_id).toBe(packs[0]?.pack_id);
    expect((await store.getEvents('run-second')).map((event) => event.json)).toEqual(second.events.map((event) => event.json));
    await store.close();
  });

  it('stores much less than the raw content', async () => {
    const store = await openSqliteStore(freshPath());
    for (let index = 0; index < 10; index++) await store.write(singleBatchOf(buildRun({ runId: `run-${index}` })));
    const stats = await store.stats();
    expect(stats.contentBytesStored).toBeLessThan((stats.eventBytesRaw + stats.blobBytesRaw) / 4);
    await store.close();
  });
});
