import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore, verifyStore } from '../../src/store/index.ts';
import { PackCache } from '../../src/store/postgres/postgres-packing.ts';
import { readRunWithEvents } from '../../src/store/postgres/postgres-reads.ts';
import { decodeBlobText } from '../../src/tape/index.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';
import { writeRun } from './store-backends.ts';
import { batchesOf, buildRun } from './tape-builder.ts';

/**
 * A finished run is packed like on SQLite: its event rows are replaced by one deflated row that
 * replay reads whole, and the blobs it reached point into it; verify still checks every byte.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function freshStore(): Promise<{ store: PostgresStore; url: string }> {
  const database = await createTestDatabase('retrial_t_pack');
  const store = await openPostgresStore(database.url);
  cleanups.push(database.drop, () => store.close());
  return { store, url: database.url };
}

it('packs an ended run into one row, reads it back whole, and stores less than the raw bytes', async () => {
  const { store } = await freshStore();
  const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'c', value: 'approve' }], systemPrompt: `policy ${'p'.repeat(4000)}` });
  await writeRun(store, run);
  await store.idle();
  const tape = await store.getTape('run-a');
  expect(tape.eventTexts).toEqual(run.events.map((event) => event.json));
  expect(tape.blobs.size).toBeGreaterThan(0);
  for (const [hash, blob] of tape.blobs) expect(decodeBlobText(blob)).toBe(decodeBlobText(run.blobs.find((written) => written.hash === hash) ?? blob));
  expect(await store.getEvents('run-a')).toEqual(run.events);
  const blobs = await store.getBlobs(run.blobs.map((blob) => blob.hash));
  for (const blob of run.blobs) expect(decodeBlobText(blobs.get(blob.hash) ?? blob)).toBe(decodeBlobText(blob));
  const stats = await store.stats();
  expect(stats.contentBytesStored).toBeLessThan(stats.eventBytesRaw);
  const problems = [];
  for await (const verification of verifyStore(store)) problems.push(...verification.problems);
  expect(problems).toEqual([]);
});

it('leaves a run still recording in its rows', async () => {
  const { store } = await freshStore();
  const run = buildRun({ runId: 'run-a', ending: null });
  await writeRun(store, run);
  await store.idle();
  const stats = await store.stats();
  expect(stats.contentBytesStored).toBeGreaterThanOrEqual(stats.eventBytesRaw);
  expect(await store.getEvents('run-a')).toEqual(run.events);
});

it('deflates later packs against a keyframe, and a store with nothing cached reads them whole', async () => {
  const { store, url } = await freshStore();
  const runs = ['run-a', 'run-b', 'run-c'].map((runId) =>
    buildRun({ runId, decisions: [{ type: 'refund', subject: runId, value: 'approve' }], systemPrompt: `policy of ${runId} ${'q'.repeat(2000)}` }),
  );
  for (const run of runs) await writeRun(store, run);
  await store.idle();
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const packs = (await client.query('SELECT run_id, dictionary_run_id FROM run_packs ORDER BY run_id')).rows;
  await client.end();
  expect(packs).toEqual([
    { run_id: 'run-a', dictionary_run_id: null },
    { run_id: 'run-b', dictionary_run_id: 'run-a' },
    { run_id: 'run-c', dictionary_run_id: 'run-a' },
  ]);
  const reader = await openPostgresStore(url);
  cleanups.push(() => reader.close());
  for (const run of runs.reverse()) {
    const runId = run.final.header.runId;
    expect((await reader.getTape(runId)).eventTexts).toEqual(run.events.map((event) => event.json));
    const blobs = await reader.getBlobs(run.blobs.map((blob) => blob.hash));
    for (const blob of run.blobs) expect(decodeBlobText(blobs.get(blob.hash) ?? blob)).toBe(decodeBlobText(blob));
  }
  const problems = [];
  for await (const verification of verifyStore(reader)) problems.push(...verification.problems);
  expect(problems).toEqual([]);
});

it('a read that meets its run being packed between its two statements reads the run again, whole', async () => {
  const { store, url } = await freshStore();
  const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'c', value: 'approve' }] });
  const [started, rest] = batchesOf(run);
  await store.write(started);
  // The reader's first statement sees the run unpacked; before its second, the run ends and is packed.
  const pool = new pg.Pool({ connectionString: url });
  cleanups.push(() => pool.end());
  let statements = 0;
  const racing = {
    query: async (sql: string, parameters?: unknown[]) => {
      const result = await pool.query(sql, parameters);
      if (++statements === 1) {
        await store.write(rest);
        await store.idle();
      }
      return result;
    },
  };
  const read = await readRunWithEvents(racing as never, new PackCache(), 'run-a');
  expect(read?.events).toEqual(run.events);
  expect(statements).toBeGreaterThan(2);
});
