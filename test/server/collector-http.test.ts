import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorErrorBody, type CollectorRequest, toWireBatch } from '../../src/record/collector-wire.ts';
import { type RunningServer, startServer } from '../../src/server/index.ts';
import { openStore, type Store, verifyStore, type WriteBatch } from '../../src/store/index.ts';
import { batchesOf, buildRun, singleBatchOf } from '../store/tape-builder.ts';

const TOKEN = 'test-token-9f2c';
const directory = mkdtempSync(join(tmpdir(), 'retrial-collector-http-'));
let store: Store;
let server: RunningServer;

beforeAll(async () => {
  store = await openStore(join(directory, 'collector.db'));
  server = await startServer({ store, host: '127.0.0.1', port: 0, token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  rmSync(directory, { recursive: true, force: true });
});

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/v1/batches`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });
}

function requestOf(...batches: WriteBatch[]): string {
  return JSON.stringify({ items: batches.map((batch) => ({ type: 'write', batch: toWireBatch(batch) })) } satisfies CollectorRequest);
}

async function errorOf(response: Response): Promise<CollectorErrorBody> {
  return (await response.json()) as CollectorErrorBody;
}

describe('retrial server: the collector over real HTTP on loopback, into a SQLite file', () => {
  it('needs the bearer token on every request, health included', async () => {
    const without = await fetch(`${server.url}/health`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer');
    expect((await errorOf(without)).error.message).toMatch(/needs a token: send Authorization: Bearer/);
    const wrong = await fetch(`${server.url}/health`, { headers: { authorization: 'Bearer test-token-9f2d' } });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).error.code).toBe('UNAUTHORIZED');
    const batchWithWrongToken = await post(requestOf(singleBatchOf(buildRun({ runId: 'run_bad_token' }))), { authorization: 'Bearer nope' });
    expect(batchWithWrongToken.status).toBe(401);
    expect(await store.getRun('run_bad_token')).toBeUndefined();
    const right = await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.json()).toMatchObject({ ok: true });
  });

  it('refuses to listen beyond loopback without a token', async () => {
    await expect(startServer({ store, host: '0.0.0.0', port: 0, token: undefined })).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0 without a token/);
  });

  it('refuses a body over its limit with 413 and says the limit', async () => {
    const small = await startServer({ store, host: '127.0.0.1', port: 0, token: TOKEN, maxBodyBytes: 4096 });
    try {
      const response = await fetch(`${small.url}/v1/batches`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: requestOf(singleBatchOf(buildRun({ runId: 'run_too_large', systemPrompt: 'policy '.repeat(2000) }))),
      });
      expect(response.status).toBe(413);
      expect(await errorOf(response)).toMatchObject({ error: { code: 'BODY_TOO_LARGE', message: expect.stringMatching(/larger than this collector takes/) } });
      expect(await store.getRun('run_too_large')).toBeUndefined();
    } finally {
      await small.close();
    }
  });

  it('answers malformed bodies with 400 (or 415) and says what was wrong', async () => {
    const notJson = await post('{"items": [');
    expect(notJson.status).toBe(400);
    expect(await errorOf(notJson)).toMatchObject({ error: { code: 'INVALID_JSON', message: expect.stringMatching(/^The body is not JSON: /) } });

    const empty = await post('{}');
    expect(empty.status).toBe(400);
    const emptyError = await errorOf(empty);
    expect(emptyError.error.code).toBe('INVALID_BODY');
    expect(emptyError.error.message).toMatch(/^The body is not a batch request: items: /);

    const batch = toWireBatch(singleBatchOf(buildRun({ runId: 'run_malformed' })));
    const badHash = { ...batch, appends: batch.appends.map((append) => ({ ...append, events: append.events.map((event) => ({ ...event, hash: 'XYZ' })) })) };
    const hashError = await post(JSON.stringify({ items: [{ type: 'write', batch: badHash }] }));
    expect(hashError.status).toBe(400);
    expect((await errorOf(hashError)).error.message).toMatch(/items\.0\.batch\.appends\.0\.events\.0\.hash: expected a lowercase hex sha256/);

    const unknownType = await post(JSON.stringify({ items: [{ type: 'delete', runId: 'x' }] }));
    expect(unknownType.status).toBe(400);
    expect((await errorOf(unknownType)).error.message).toMatch(/items\.0\.type/);

    const text = await post(requestOf(singleBatchOf(buildRun({ runId: 'run_text' }))), { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await store.getRun('run_malformed')).toBeUndefined();
  });

  it('rejects a batch whose events do not chain onto the run head (409, naming the run and event), and writes nothing of it', async () => {
    const run = buildRun({ runId: 'run_broken_chain', decisions: [{ type: 'refund', subject: 'C-1', value: 'approve' }] });
    const [first, second] = batchesOf(run, { splitAt: 2 });
    expect((await post(requestOf(first))).status).toBe(200);
    // The second half as if the first event of it had other bytes: its hash no longer follows the head.
    const tampered: WriteBatch = {
      ...second,
      appends: second.appends.map((append) => ({
        ...append,
        events: append.events.map((event, index) => (index === 0 ? { ...event, json: event.json.replace('"at":', '"at": ') } : event)),
      })),
    };
    const other = buildRun({ runId: 'run_innocent' });
    const response = await post(requestOf(singleBatchOf(other), tampered));
    expect(response.status).toBe(409);
    const body = await errorOf(response);
    expect(body.error.code).toBe('CHAIN_MISMATCH');
    expect(body.error.message).toMatch(/^Item 1: run run_broken_chain: event 2 does not chain onto the run's head [0-9a-f]{12}…/);
    expect(body.acceptedItems).toBe(1);
    expect(body.runs).toEqual([{ runId: 'run_broken_chain', message: expect.stringMatching(/event 2 does not chain/) }]);
    expect((await store.getRun('run_innocent'))?.status).toBe('complete');
    expect((await store.getRun('run_broken_chain'))?.eventCount).toBe(2);

    // An ending that does not seal the head is refused the same way.
    const badSeal: WriteBatch = { ...second, runsEnded: second.runsEnded.map((end) => ({ ...end, sealHash: 'a'.repeat(64) })) };
    const sealResponse = await post(requestOf(badSeal));
    expect(sealResponse.status).toBe(409);
    expect((await errorOf(sealResponse)).error.message).toMatch(/its ending does not seal the run's head/);

    // Events for a run the store does not have.
    const orphan = buildRun({ runId: 'run_orphan' });
    const [, orphanTail] = batchesOf(orphan, { splitAt: 1 });
    const orphanResponse = await post(requestOf(orphanTail));
    expect(orphanResponse.status).toBe(409);
    expect((await errorOf(orphanResponse)).error.message).toMatch(/the store has no run run_orphan/);

    // The untampered half still lands: the run was left as it was.
    expect((await post(requestOf(second))).status).toBe(200);
    expect((await store.getRun('run_broken_chain'))?.status).toBe('complete');
  });

  it('accepts a batch sent again (its acknowledgement lost) without duplicating anything, and refuses one that differs', async () => {
    const run = buildRun({ runId: 'run_retried', decisions: [{ type: 'refund', subject: 'C-2', value: 'deny', amount: 12 }] });
    const [first, second] = batchesOf(run, { splitAt: 3 });
    for (let attempt = 0; attempt < 2; attempt++) expect((await post(requestOf(first))).status).toBe(200);
    // Both halves together, the first a third time: only the second half is new.
    expect((await post(requestOf(first, second))).status).toBe(200);
    expect((await post(requestOf(second))).status).toBe(200);
    expect((await store.getEvents('run_retried')).length).toBe(run.events.length);
    expect(await store.listDecisions({ runId: 'run_retried' })).toHaveLength(1);
    expect((await store.getRun('run_retried'))?.sealHash).toBe(run.final.sealHash);

    // The same seq with other bytes is not a retry.
    const [otherFirst] = batchesOf(buildRun({ runId: 'run_retried', recordedAt: Date.UTC(2025, 1, 1) }), { splitAt: 3 });
    const conflict = await post(requestOf(otherFirst));
    expect(conflict.status).toBe(409);
    expect((await errorOf(conflict)).error.message).toMatch(/another run with the id run_retried \(another header\) is already stored/);

    const problems = [];
    for await (const verification of verifyStore(store)) problems.push(...verification.problems);
    expect(problems).toEqual([]);
  });
});
