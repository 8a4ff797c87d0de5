import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { expect, it } from 'vitest';
import { type DecisionRecord, type StoredEvent, StoreError, verifyLedger, verifyStore, type WriteBatch } from '../../src/store/index.ts';
import { decodeBlobText, type RunEnding, type StoredBlob } from '../../src/tape/index.ts';
import { BACKENDS, describeEachBackend, withoutFileBytes, writeRun } from './store-backends.ts';
import { batchesOf, buildRun, singleBatchOf, TEST_WRITER } from './tape-builder.ts';

/** A pid that certainly belongs to no process: a child that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describeEachBackend('Store conformance', ({ expected, open }) => {
  it('round-trips a run, its events byte for byte, its blobs with their encodings and its decisions', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund.category', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    const [first, second] = batchesOf(run);
    await store.write(first);
    const inFlight = await store.getRun('run-a');
    expect(inFlight?.status).toBe('recording');
    expect(inFlight?.eventCount).toBe(3);
    expect(inFlight?.headHash).toBe(run.events[2]?.hash);
    await store.write(second);

    expect(await store.getRun('run-a')).toEqual(run.final);
    const events = await store.getEvents('run-a');
    expect(events).toEqual(run.events);
    expect(events.map((event) => event.json)).toEqual(run.events.map((event) => event.json));
    const blobs = await store.getBlobs([...run.blobs.map((blob) => blob.hash), 'f'.repeat(64)]);
    expect(blobs.size).toBe(run.blobs.length);
    expect(new Set(run.blobs.map((blob) => blob.encoding))).toEqual(new Set(['json', 'json+deflate']));
    for (const blob of run.blobs) {
      const stored = blobs.get(blob.hash);
      expect(stored?.size).toBe(blob.size);
      expect(decodeBlobText(stored as StoredBlob)).toBe(decodeBlobText(blob));
      if (expected.storage === 'as-given') {
        expect(stored?.encoding).toBe(blob.encoding);
        expect(Buffer.from(stored?.data ?? []).equals(Buffer.from(blob.data))).toBe(true);
      }
    }
    expect(await store.listDecisions()).toEqual(run.decisions);
    expect(await store.getEvents('no-such-run')).toEqual([]);
    expect(await store.getRun('no-such-run')).toBeUndefined();
  });

  it('getTape gives the run and its events as getRun and getEvents do, while recording and once ended, and only blobs that hash to their keys', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund.category', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    const [first, second] = batchesOf(run);
    await store.write(first);
    const recording = await store.getTape('run-a');
    expect(recording.run).toEqual(await store.getRun('run-a'));
    expect(recording.modelsServed).toEqual([]);
    expect(recording.eventTexts).toEqual(run.events.slice(0, 3).map((event) => event.json));
    await store.write(second);
    const ended = await store.getTape('run-a');
    expect(ended.run).toEqual(run.final);
    expect(ended.modelsServed).toEqual(run.modelsServed);
    expect(ended.eventTexts).toEqual(run.events.map((event) => event.json));
    const written = new Map(run.blobs.map((blob) => [blob.hash, decodeBlobText(blob)]));
    for (const [hash, blob] of ended.blobs) {
      expect(blob.hash).toBe(hash);
      expect(decodeBlobText(blob)).toBe(written.get(hash));
    }
    await expect(store.getTape('run-b')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });

  it('keeps what it stored when the caller later mutates the objects it passed', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 't', subject: 's', value: 'v' }] });
    await store.write(singleBatchOf(run));
    run.final.header.agent = 'changed';
    (run.events[0] as { json: string }).json = '{}';
    (run.decisions[0] as { value: string }).value = 'changed';
    expect((await store.getRun('run-a'))?.header.agent).toBe('support-agent');
    expect((await store.getEvents('run-a'))[0]?.json).not.toBe('{}');
    expect((await store.listDecisions())[0]?.value).toBe('v');
  });

  it('applies a batch all or nothing', async () => {
    const store = await open();
    const existing = buildRun({ runId: 'run-a', ending: null });
    await store.write(batchesOf(existing)[0]);
    const before = withoutFileBytes(await store.stats());
    const fresh = buildRun({ runId: 'run-b', decisions: [{ type: 't', subject: 's', value: 'v' }], systemPrompt: `only in run b ${'x'.repeat(300)}` });
    const batch = singleBatchOf(fresh);
    // The second append repeats seq 0..2 of run-a: it fails after run-b, its events, blobs and decisions were applied.
    batch.appends.push({ runId: 'run-a', events: existing.events.slice(0, 3), headHash: existing.events[2]?.hash as string });
    await expect(store.write(batch)).rejects.toBeInstanceOf(StoreError);
    expect(await store.getRun('run-b')).toBeUndefined();
    expect(await store.getEvents('run-b')).toEqual([]);
    expect(await store.listDecisions({ includeSuperseded: true })).toEqual([]);
    const onlyInFresh = fresh.blobs.filter((blob) => !existing.blobs.some((other) => other.hash === blob.hash));
    expect(onlyInFresh.length).toBeGreaterThan(0);
    expect((await store.getBlobs(onlyInFresh.map((blob) => blob.hash))).size).toBe(0);
    expect(withoutFileBytes(await store.stats())).toEqual(before);
    expect((await store.getRun('run-a'))?.eventCount).toBe(3);
  });

  it('refuses a duplicate decision id, a duplicate run, appends to unknown or ended runs, gaps and a wrong head', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 't', subject: 's', value: 'v' }] });
    await store.write(singleBatchOf(run));
    const empty: WriteBatch = { runsStarted: [], appends: [], blobs: [], decisions: [], runsEnded: [] };
    const other = buildRun({ runId: 'run-b', ending: null });
    const refused: WriteBatch[] = [
      { ...singleBatchOf(other), decisions: run.decisions },
      { ...empty, runsStarted: [{ run: run.started, writer: TEST_WRITER }] },
      { ...empty, appends: [{ runId: 'ghost', events: other.events.slice(0, 1), headHash: other.events[0]?.hash as string }] },
      { ...empty, appends: [{ runId: 'run-a', events: [{ ...(run.events[0] as StoredEvent), seq: run.events.length }], headHash: 'x' }] },
      { ...empty, runsEnded: [{ runId: 'run-a', ending: run.ending as RunEnding, sealHash: 'x', modelsServed: [] }] },
      { ...batchesOf(other)[0], appends: [{ runId: 'run-b', events: other.events.slice(1, 2), headHash: other.events[1]?.hash as string }] },
      { ...batchesOf(other)[0], appends: [{ runId: 'run-b', events: other.events.slice(0, 2), headHash: other.events[0]?.hash as string }] },
    ];
    for (const batch of refused) await expect(store.write(batch)).rejects.toBeInstanceOf(StoreError);
    expect(await store.listRunIds()).toEqual(['run-a']);
    expect(await store.getRun('run-a')).toEqual(run.final);
  });

  it('treats a blob written twice as one', async () => {
    const store = await open();
    const first = buildRun({ runId: 'run-a' });
    const second = buildRun({ runId: 'run-b' });
    await writeRun(store, first);
    await writeRun(store, second);
    const shared = first.blobs.filter((blob) => second.blobs.some((other) => other.hash === blob.hash)).length;
    expect(shared).toBeGreaterThan(0);
    expect((await store.stats()).blobs).toBe(first.blobs.length + second.blobs.length - shared);
  });
  it('marks runs whose writer is gone as incomplete, asking the given liveness check', async () => {
    const store = await open();
    await store.write(batchesOf(buildRun({ runId: 'dead', ending: null }), { writer: { pid: 111, host: 'h1' } })[0]);
    await store.write(batchesOf(buildRun({ runId: 'alive', ending: null }), { writer: { pid: 222, host: 'h1' } })[0]);
    await writeRun(store, buildRun({ runId: 'finished' }));
    const asked: number[] = [];
    const marked = await store.markAbandonedRuns((writer) => {
      asked.push(writer.pid);
      return writer.pid !== 111;
    });
    expect(marked).toEqual(['dead']);
    expect(asked.sort()).toEqual([111, 222]);
    expect((await store.getRun('dead'))?.status).toBe('incomplete');
    expect((await store.getRun('alive'))?.status).toBe('recording');
    expect((await store.getRun('finished'))?.status).toBe('complete');
    expect(await store.markAbandonedRuns(() => true)).toEqual([]);
  });

  it('by default treats a dead pid on this host as gone and other hosts as alive', async () => {
    const store = await open();
    const pid = await deadPid();
    const writers = { dead: { pid, host: hostname() }, self: { pid: process.pid, host: hostname() }, remote: { pid, host: `not-${hostname()}` } };
    for (const [runId, writer] of Object.entries(writers)) await store.write(batchesOf(buildRun({ runId, ending: null }), { writer })[0]);
    expect(await store.markAbandonedRuns()).toEqual(['dead']);
    expect((await store.listRuns({ status: 'recording' })).map((run) => run.runId).sort()).toEqual(['remote', 'self']);
  });

  it('exports a run as a bundle that imports into another store with identical bytes', async () => {
    const source = await open('source');
    const run = buildRun({ runId: 'run-a', externalIds: { ticket: 'T-9' }, decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 3 }] });
    await writeRun(source, run);
    await writeRun(source, buildRun({ runId: 'unrelated', systemPrompt: `unrelated ${'y'.repeat(400)}` }));
    const bundle = await source.getRunBundle('run-a');
    expect(bundle.run).toEqual(run.final);
    expect(bundle.events).toEqual(run.events);
    expect(bundle.decisions).toEqual(run.decisions);
    expect(bundle.modelsServed).toEqual(run.modelsServed);
    expect(new Set(bundle.blobs.map((blob) => blob.hash))).toEqual(new Set(run.blobs.map((blob) => blob.hash)));
    for (const hash of run.wireOnlyBlobHashes) expect(bundle.blobs.some((blob) => blob.hash === hash)).toBe(true);
    expect(bundle.blobs.some((blob) => blob.hash === run.ending?.output)).toBe(true);

    for (const targetBackend of BACKENDS) {
      const target = await open(`target-${targetBackend}`, targetBackend);
      expect(await target.importRunBundle(bundle)).toBe('imported');
      expect(await target.getRun('run-a')).toEqual(run.final);
      const events = await target.getEvents('run-a');
      expect(events.map((event) => event.json)).toEqual(run.events.map((event) => event.json));
      expect(events).toEqual(run.events);
      const again = await target.getRunBundle('run-a');
      expect(again.blobs.map((blob) => [blob.hash, decodeBlobText(blob)])).toEqual(bundle.blobs.map((blob) => [blob.hash, decodeBlobText(blob)]));
      expect(again.decisions).toEqual(bundle.decisions);
      expect((await target.listRuns({ modelServed: run.modelsServed[0] as string, subject: 'T-9' })).map((summary) => summary.runId)).toEqual(['run-a']);
      const before = withoutFileBytes(await target.stats());
      expect(await target.importRunBundle(bundle)).toBe('exists');
      expect(withoutFileBytes(await target.stats())).toEqual(before);
    }
  });

  it('imports a bundle that leaves out the blobs the store already holds, and the run is whole', async () => {
    const source = await open('source');
    // Two runs with the same system prompt share its blobs.
    for (const runId of ['run-a', 'run-b']) await writeRun(source, buildRun({ runId }));
    const first = await source.getRunBundle('run-a');
    const second = await source.getRunBundle('run-b');
    const held = new Set(first.blobs.map((blob) => blob.hash));
    const shared = second.blobs.filter((blob) => held.has(blob.hash));
    expect(shared.length).toBeGreaterThan(0);

    const target = await open('target');
    expect(await target.importRunBundle(first)).toBe('imported');
    expect(await target.importRunBundle({ ...second, blobs: second.blobs.filter((blob) => !held.has(blob.hash)) })).toBe('imported');
    const runs = [];
    for await (const run of verifyStore(target)) runs.push(run);
    expect(runs.map((run) => [run.runId, run.problems])).toEqual([
      ['run-a', []],
      ['run-b', []],
    ]);
    expect(new Set((await target.getRunBundle('run-b')).blobs.map((blob) => blob.hash))).toEqual(new Set(second.blobs.map((blob) => blob.hash)));
  });

  it('closes an imported run that was still recording, since no writer here will finish it', async () => {
    const source = await open('source');
    await source.write(batchesOf(buildRun({ runId: 'in-flight', ending: null }))[0]);
    const target = await open('target');
    expect(await target.importRunBundle(await source.getRunBundle('in-flight'))).toBe('imported');
    expect(await target.markAbandonedRuns(() => true)).toEqual(['in-flight']);
  });

  it('refuses a bundle whose ledger rows are not what its decision events say, belong to another run, or are corrections', async () => {
    const source = await open('source');
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 3 }] });
    await writeRun(source, run);
    const bundle = await source.getRunBundle('run-a');
    const decision = bundle.decisions[0] as DecisionRecord;
    const target = await open('target');
    for (const [decisions, message] of [
      [[{ ...decision, subject: 'C-ATTACKER' }], /decision run-a:5: subject is "C-ATTACKER" but its hashed decision event/],
      [[decision, { ...decision, decisionId: 'run-x:5/c', runId: 'run-x', supersedes: 'run-x:5' }], /belongs to run run-x, not to this run run-a/],
      [[decision, { ...decision, decisionId: 'run-a:5/c', supersedes: 'run-a:5' }], /is a correction of run-a:5/],
      [[], /decision event 5 has no ledger row/],
    ] as const) {
      await expect(target.importRunBundle({ ...bundle, decisions: [...decisions] })).rejects.toThrow(message);
    }
    await expect(target.importRunBundle({ ...bundle, modelsServed: ['gpt-evil'] })).rejects.toThrow(/modelsServed \["gpt-evil"\] does not match/);
    expect(await target.listRunIds()).toEqual([]);
    expect(await target.importRunBundle(bundle)).toBe('imported');
  });

  it('verify finds a ledger row that is not what its decision event says, and vouches for a correction by its audit entry', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 3 }] });
    const original = run.decisions[0] as DecisionRecord;
    await writeRun(store, { ...run, decisions: [{ ...original, amount: 99.99 }] });
    await writeRun(store, buildRun({ runId: 'run-b', decisions: [{ type: 'refund', subject: 'cust-2', value: 'approve', amount: 5 }] }));
    const corrected = (await store.listDecisions({ runId: 'run-b' }))[0] as DecisionRecord;
    await store.campaigns.putCorrections([
      {
        idempotencyKey: 'rc_1',
        campaignId: 'bf_1',
        itemId: corrected.decisionId,
        status: 'pending',
        attempts: 0,
        lastError: null,
        appliedAt: null,
        correction: {},
      },
    ]);
    const superseding = { ...corrected, decisionId: `${corrected.decisionId}/rc_1`, value: 'deny', supersedes: corrected.decisionId };
    await store.campaigns.recordApplied('rc_1', 9_000, 1, superseding, {
      at: 9_000,
      actor: 'alice',
      action: 'correction.applied',
      campaignId: 'bf_1',
      details: { idempotencyKey: 'rc_1' },
    });
    expect((await store.campaigns.audit()).at(-1)?.details).toEqual({ idempotencyKey: 'rc_1', ledgerRow: superseding });

    const problems = [];
    for await (const verification of verifyStore(store)) problems.push(...verification.problems.map((problem) => ({ runId: verification.runId, ...problem })));
    expect(problems).toEqual([expect.objectContaining({ runId: 'run-a', code: 'LEDGER_MISMATCH', decisionId: 'run-a:5', field: 'amount', seq: 5 })]);
    expect((await verifyLedger(store)).problems).toEqual([]);
  });

  it('refuses a bundle whose events do not match its run record', async () => {
    const source = await open('source');
    const run = buildRun({ runId: 'run-a' });
    await writeRun(source, run);
    const bundle = await source.getRunBundle('run-a');
    const target = await open('target');
    await expect(target.importRunBundle({ ...bundle, events: bundle.events.slice(1) })).rejects.toBeInstanceOf(StoreError);
    expect(await target.listRunIds()).toEqual([]);
  });

  it('reports counts and sizes in stats', async () => {
    const store = await open();
    const complete = buildRun({
      runId: 'run-a',
      decisions: [
        { type: 'refund', subject: 'c', value: 'approve' },
        { type: 'refund', subject: 'd', value: 'approve' },
      ],
    });
    const failed = buildRun({
      runId: 'run-b',
      ending: 'failed',
      decisions: [{ type: 'refund', subject: 'c', value: 'deny' }],
      systemPrompt: `different ${'z'.repeat(500)}`,
    });
    await writeRun(store, complete);
    await writeRun(store, failed);
    const blobs = new Map([...complete.blobs, ...failed.blobs].map((blob) => [blob.hash, blob]));
    const events = [...complete.events, ...failed.events];
    const stats = await store.stats();
    expect(stats).toMatchObject({
      runs: 2,
      runsByStatus: { complete: 1, failed: 1 },
      events: events.length,
      blobs: blobs.size,
      blobBytesRaw: [...blobs.values()].reduce((total, blob) => total + blob.size, 0),
      eventBytesRaw: events.reduce((total, event) => total + Buffer.byteLength(event.json), 0),
      ...(expected.storage === 'as-given'
        ? {
            contentBytesStored:
              [...blobs.values()].reduce((total, blob) => total + blob.data.byteLength, 0) +
              events.reduce((total, event) => total + Buffer.byteLength(event.json), 0),
          }
        : {}),
      decisions: [
        { type: 'refund', value: 'approve', count: 2 },
        { type: 'refund', value: 'deny', count: 1 },
      ],
    });
    expect(stats.contentBytesStored).toBeGreaterThan(0);
    expect(stats.contentBytesStored).toBeLessThan(stats.blobBytesRaw + stats.eventBytesRaw);
    if (expected.reportsFileBytes) expect(stats.fileBytes).toBeGreaterThan(0);
    else expect(stats.fileBytes).toBeNull();
  });

  it('declares its capabilities and refuses use after close', async () => {
    const store = await open();
    expect(store.capabilities).toEqual(expected.capabilities);
    expect(typeof store.location).toBe('string');
    await store.close();
    await expect(store.listRuns()).rejects.toBeInstanceOf(StoreError);
    await store.close();
  });
});
