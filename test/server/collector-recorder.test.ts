import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRecorder, type RecordingFailure } from '../../src/record/index.ts';
import { startServer } from '../../src/server/index.ts';
import { openStore, verifyStore } from '../../src/store/index.ts';
import { runCli } from '../cli/run-cli.ts';

const TOKEN = 'recorder-token-5e0a';
const salt = 'recorder-salt';
const directory = mkdtempSync(join(tmpdir(), 'retrial-collector-recorder-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('a recorder that sends to a collector', () => {
  it('keeps what the collector cannot take yet up to maxUnsentBytes, stops later runs as buffer-full (reported), and sends the rest once it is up', async () => {
    const port = await freePort();
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({
      agent: 'bounded-agent',
      collector: { url: `http://127.0.0.1:${port}`, token: TOKEN, maxUnsentBytes: 60_000, flushTimeoutMs: 120_000 },
      redaction: { salt },
      flushIntervalMs: 1,
      onRecordingError: (failure) => failures.push(failure),
    });
    const fetchPage = rec.tool('fetch_page', async (page: number) => ({ page, text: `${page} `.repeat(2500) }), { effect: 'read' });
    const outputs: number[] = [];
    // Nothing listens: every run's batches stay in memory until the cap, and the agent never notices.
    for (let index = 0; index < 30; index++)
      outputs.push(await rec.run(index, async (page) => (await fetchPage(page)).page, { runId: `run_bounded_${String(index).padStart(2, '0')}` }));
    expect(outputs).toEqual(Array.from({ length: 30 }, (_, index) => index));
    const before = rec.health();
    expect(before.unsentBatches).toBeGreaterThan(0);
    // The cap, a quarter more for marks of the runs it stopped, and one batch that found room under it.
    expect(before.unsentBytes).toBeLessThanOrEqual(60_000 * 1.25 + 20_000);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((failure) => failure.kind === 'buffer-full')).toBe(true);
    expect(failures[0]?.reason).toMatch(
      /the collector at http:\/\/127\.0\.0\.1:\d+ has not taken the last \d+ batches \(\d+ KB, maxUnsentBytes 59 KB(; last try: ECONNREFUSED)?\); later events of the run are dropped$/,
    );
    expect(before.runsDegraded).toBe(failures.length);

    const store = await openStore(join(directory, 'bounded.db'));
    const server = await startServer({ store, host: '127.0.0.1', port, token: TOKEN });
    try {
      await rec.flush();
      const after = rec.health();
      expect(after).toMatchObject({ unsentBatches: 0, unsentBytes: 0 });
      const stopped = new Set(failures.map((failure) => failure.runId));
      const runs = await store.listRuns({ limit: 100 });
      // Every run is accounted for: complete, or incomplete with the reason it stopped.
      expect(runs).toHaveLength(30);
      for (const run of runs) expect(run.status, run.runId).toBe(stopped.has(run.runId) ? 'incomplete' : 'complete');
      expect(runs.filter((run) => run.status === 'complete').length).toBeGreaterThan(0);
      const marked = await store.getRun([...stopped][0] as string);
      expect(marked?.ending?.error?.message).toMatch(/^buffer-full: the collector at .* maxUnsentBytes/);
      const problems = [];
      for await (const verification of verifyStore(store)) problems.push(...verification.problems);
      expect(problems).toEqual([]);
    } finally {
      await server.close();
      await store.close();
    }
  }, 180_000);

  it('reports runs a collector refuses (a wrong token) as write failures; the agent is not affected', async () => {
    const store = await openStore(join(directory, 'token.db'));
    const server = await startServer({ store, host: '127.0.0.1', port: 0, token: TOKEN });
    try {
      const failures: RecordingFailure[] = [];
      const rec = createRecorder({
        agent: 'wrong-token-agent',
        collector: { url: server.url, token: 'not-the-token' },
        redaction: { salt },
        onRecordingError: (failure) => failures.push(failure),
      });
      expect(await rec.run('hello', async (input) => `${input} back`, { runId: 'run_wrong_token' })).toBe('hello back');
      await rec.flush();
      expect(failures).toEqual([
        { runId: 'run_wrong_token', kind: 'write', reason: expect.stringMatching(/refused the batch \(401\): The bearer token is not the one/) },
      ]);
      expect(rec.health()).toMatchObject({ runsDegraded: 1, unsentBatches: 0 });
      expect(await store.getRun('run_wrong_token')).toBeUndefined();
    } finally {
      await server.close();
      await store.close();
    }
  }, 60_000);

  it('sends a batch again when its acknowledgement is lost, and the collector accepts it without duplicating anything', async () => {
    const store = await openStore(join(directory, 'lost-ack.db'));
    const server = await startServer({ store, host: '127.0.0.1', port: 0, token: TOKEN });
    // Between recorder and collector: passes each request on, and for the first three drops the
    // connection after the collector has answered, as a restart or a network cut would.
    let dropped = 0;
    const proxy = createHttpServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const answer = await fetch(`${server.url}${request.url}`, {
        method: request.method,
        headers: request.headers as Record<string, string>,
        body: Buffer.concat(chunks),
      });
      const text = await answer.text();
      if (request.method === 'POST' && dropped < 3) {
        dropped++;
        request.socket.destroy();
        return;
      }
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const failures: RecordingFailure[] = [];
      const rec = createRecorder({
        agent: 'lost-ack-agent',
        collector: { url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, token: TOKEN },
        redaction: { salt },
        onRecordingError: (failure) => failures.push(failure),
      });
      const charge = rec.tool('charge', async (amount: number) => ({ charged: amount }));
      for (let index = 0; index < 5; index++)
        await rec.run(
          index,
          async () => {
            await charge(index);
            rec.decide({ type: 'charge', subject: `C-${index}`, value: 'done', amount: index });
            return index;
          },
          { runId: `run_lost_ack_${index}` },
        );
      await rec.flush();
      expect(dropped).toBe(3);
      expect(failures).toEqual([]);
      expect(rec.health()).toMatchObject({ unsentBatches: 0, runsDegraded: 0 });
      const runs = await store.listRuns({ limit: 10 });
      expect(runs.map((run) => [run.runId, run.status, run.eventCount])).toEqual(
        Array.from({ length: 5 }, (_, index) => [`run_lost_ack_${4 - index}`, 'complete', 3]),
      );
      expect(await store.listDecisions({ limit: 100 })).toHaveLength(5);
      const problems = [];
      for await (const verification of verifyStore(store)) problems.push(...verification.problems);
      expect(problems).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await server.close();
      await store.close();
    }
  }, 120_000);

  it("when the collector refuses one run of a batch (its id is another run's), stops only that run and sends the others", async () => {
    const store = await openStore(join(directory, 'one-refused.db'));
    const server = await startServer({ store, host: '127.0.0.1', port: 0, token: TOKEN });
    try {
      const first = createRecorder({ agent: 'first', collector: { url: server.url, token: TOKEN }, redaction: { salt } });
      await first.run('first', async () => 'mine', { runId: 'run_taken' });
      await first.flush();
      const failures: RecordingFailure[] = [];
      const second = createRecorder({
        agent: 'second',
        collector: { url: server.url, token: TOKEN },
        redaction: { salt },
        flushIntervalMs: 50,
        onRecordingError: (failure) => failures.push(failure),
      });
      // Started together, so their starts travel in one batch.
      const outputs = await Promise.all([
        second.run('a', async () => 'a done', { runId: 'run_taken' }),
        second.run('b', async () => 'b done', { runId: 'run_free' }),
      ]);
      await second.flush();
      expect(outputs).toEqual(['a done', 'b done']);
      expect(failures).toEqual([
        { runId: 'run_taken', kind: 'write', reason: expect.stringMatching(/another run with the id run_taken \(another header\) is already stored/) },
      ]);
      expect((await store.getRun('run_free'))?.status).toBe('complete');
      const taken = await store.getRun('run_taken');
      expect([taken?.header.agent, taken?.status]).toEqual(['first', 'complete']);
    } finally {
      await server.close();
      await store.close();
    }
  }, 60_000);

  it("sends batches one at a time when a request is over the collector's limit, and reports a run whose batch alone is over it", async () => {
    const port = await freePort();
    const failures: RecordingFailure[] = [];
    const rec = createRecorder({
      agent: 'limit-agent',
      collector: { url: `http://127.0.0.1:${port}`, token: TOKEN },
      redaction: { salt },
      onRecordingError: (failure) => failures.push(failure),
    });
    const read = rec.tool('read', async (size: number) => ({ text: `${size} `.padEnd(size, 'y') }), { effect: 'read' });
    // Recorded while nothing listens, one after another: their batches wait together in the outbox.
    // Three of ~15 KB, together over the limit and each under it; then one of ~60 KB.
    const outputs: number[] = [];
    const sizes = [
      ['run_limit_a', 15_000],
      ['run_limit_b', 15_000],
      ['run_limit_c', 15_000],
      ['run_limit_big', 60_000],
    ] as const;
    for (const [runId, size] of sizes) outputs.push(await rec.run(size, async () => (await read(size)).text.length, { runId }));
    expect(rec.health().unsentBatches).toBeGreaterThanOrEqual(4);
    const store = await openStore(join(directory, 'limit.db'));
    const server = await startServer({ store, host: '127.0.0.1', port, token: TOKEN, maxBodyBytes: 40_000 });
    try {
      await rec.flush();
      expect(outputs).toEqual([15_000, 15_000, 15_000, 60_000]);
      expect(failures).toEqual([
        { runId: 'run_limit_big', kind: 'write', reason: expect.stringMatching(/refused the batch \(413\): The body is larger than this collector takes/) },
      ]);
      for (const runId of ['run_limit_a', 'run_limit_b', 'run_limit_c']) expect((await store.getRun(runId))?.status, runId).toBe('complete');
      expect(await store.getRun('run_limit_big')).toMatchObject({ status: 'incomplete' });
    } finally {
      await server.close();
      await store.close();
    }
  }, 60_000);

  it('says at creation what is missing: a store or a collector URL, and the redaction salt', () => {
    const saved = { url: process.env.RETRIAL_URL, salt: process.env.RETRIAL_REDACTION_SALT };
    delete process.env.RETRIAL_URL;
    delete process.env.RETRIAL_REDACTION_SALT;
    try {
      expect(() => createRecorder({ agent: 'a' })).toThrow(/needs a store \(\{ store \}\) or a collector to send runs to/);
      expect(() => createRecorder({ agent: 'a', collector: { url: 'ftp://x' } })).toThrow(/is not an http:\/\/ or https:\/\/ URL/);
      process.env.RETRIAL_URL = 'http://127.0.0.1:9';
      expect(() => createRecorder({ agent: 'a' })).toThrow(/sends runs to a collector needs the redaction salt .*RETRIAL_REDACTION_SALT/);
    } finally {
      if (saved.url === undefined) delete process.env.RETRIAL_URL;
      else process.env.RETRIAL_URL = saved.url;
      if (saved.salt !== undefined) process.env.RETRIAL_REDACTION_SALT = saved.salt;
    }
  });
});

describe('retrial server on the command line', () => {
  it('says in one line that the port is busy, and refuses to listen beyond loopback without a token', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const busy = await runCli(['server', '--db', join(directory, 'cli.db'), '--port', String(port)], { env: { RETRIAL_TOKEN: '' } });
      expect(busy.status).toBe(2);
      expect(busy.stderr.trim()).toBe(
        `retrial: Port ${port} on 127.0.0.1 is already in use (another retrial server?). Stop what listens there, or pass --port <another> (--port 0 picks a free one).`,
      );
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
    const open = await runCli(['server', '--db', join(directory, 'cli.db'), '--host', '0.0.0.0', '--port', '0'], { env: { RETRIAL_TOKEN: '' } });
    expect(open.status).toBe(2);
    expect(open.stderr).toMatch(/Refusing to listen on 0\.0\.0\.0 without a token/);
    expect(open.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
