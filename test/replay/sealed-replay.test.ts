import http from 'node:http';
import net from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReplayResult } from '../../src/cli/commands/replay-command.ts';
import { type SimulatorServer, startSimulatorServer } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent } from '../../src/record/index.ts';
import { forkRun, replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

const SALT = 'sealed-salt';

/** A telemetry collector: every request or connection that reaches it is counted. */
const collector = { url: '', port: 0, requests: 0, connections: 0 };
let collectorServer: http.Server;

type Variant = 'original' | 'sends-from-inside';

/**
 * An agent whose SDK starts a background exporter in create(), as tracing SDKs do: its timer runs
 * outside any run, and flushes the spans the handler queued with fetch, http.request and a raw
 * socket. The handler waits for the flush, so the test waits for an event, not for time.
 */
function tracedAgent(variant: Variant, exporters: Array<ReturnType<typeof setInterval>>) {
  return defineAgent<{ question: string }, string>({
    name: 'traced-agent',
    codeVersion: variant,
    create({ rec, env }) {
      const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${env.BASE_URL}/v1`, fetch: rec.fetch, maxRetries: 0 });
      const queued: Array<() => void> = [];
      const settle = (send: (done: () => void) => void) => new Promise<void>((resolve) => send(resolve));
      async function flushSpans() {
        const waiting = queued.splice(0);
        if (waiting.length === 0) return;
        await fetch(`${collector.url}/v1/traces`, { method: 'POST', body: '{}' }).catch(() => undefined);
        await settle((done) =>
          http
            .request(`${collector.url}/v1/metrics`, { method: 'POST' }, (response) => response.resume().on('end', done))
            .on('error', done)
            .end(),
        );
        await settle((done) => net.connect(collector.port, '127.0.0.1', () => done()).on('error', done));
        for (const resolve of waiting) resolve();
      }
      exporters.push(setInterval(() => void flushSpans(), 2));
      return async function answer({ question }) {
        const completion = await openai.chat.completions.create({ model: 'support-sim', messages: [{ role: 'user', content: question }] });
        await new Promise<void>((resolve) => queued.push(resolve));
        if (variant === 'sends-from-inside') await fetch(`${collector.url}/v1/logs`).catch(() => undefined);
        return completion.choices[0]?.message.content ?? '';
      };
    },
  });
}

let simulator: SimulatorServer;
let store: Store;
const exporters: Array<ReturnType<typeof setInterval>> = [];
beforeAll(async () => {
  collectorServer = http.createServer((request, response) => {
    collector.requests++;
    request.resume().on('end', () => response.end('ok'));
  });
  collectorServer.on('connection', () => collector.connections++);
  await new Promise<void>((resolve) => collectorServer.listen(0, '127.0.0.1', resolve));
  collector.port = (collectorServer.address() as { port: number }).port;
  collector.url = `http://127.0.0.1:${collector.port}`;
  simulator = await startSimulatorServer({ port: 0, seed: 'sealed' });
  store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'traced-agent', redaction: { salt: SALT } });
  await rec.run({ question: 'Where is my refund?' }, tracedAgent('original', exporters).create({ rec, env: { BASE_URL: simulator.url } }), {
    runId: 'run_traced',
  });
  await simulator.close();
});
afterAll(async () => {
  for (const exporter of exporters) clearInterval(exporter);
  collectorServer.closeAllConnections();
  await new Promise((resolve) => collectorServer.close(resolve));
});

const replay = (variant: Variant) =>
  replayRun({ store, runId: 'run_traced', agent: tracedAgent(variant, exporters) as never, redactionSalt: SALT, env: { BASE_URL: 'http://127.0.0.1:9' } });

describe('replay is sealed', () => {
  it('recording let the exporter through (the premise)', () => {
    expect(collector.requests).toBe(2);
    expect(collector.connections).toBe(3);
  });

  it('a background exporter outside the run sends during a replay: refused, reported with its site, and the summary line says so', async () => {
    const before = { ...collector };
    const result = await replay('original');
    expect(result.divergences).toEqual([]);
    expect(collector.requests).toBe(before.requests);
    expect(collector.connections).toBe(before.connections);
    expect(result.refusedRequests).toEqual([
      { target: `${collector.url}/v1/traces`, site: expect.stringMatching(/sealed-replay\.test\.ts#flushSpans/) },
      // Made in anonymous callbacks: named by file and line.
      { target: `${collector.url}/v1/metrics`, site: expect.stringMatching(/sealed-replay\.test\.ts:\d+$/) },
      { target: `tcp://127.0.0.1:${collector.port}`, site: expect.stringMatching(/sealed-replay\.test\.ts:\d+$/) },
    ]);
    const line = renderReplayResult(result);
    expect(line).toMatch(/^REPRODUCED/);
    expect(line).not.toContain('nothing left the process');
    expect(line).toContain(
      `3 requests made outside the run (a timer or background work) tried to leave the process and were refused: ${collector.url}/v1/traces (from test/replay/sealed-replay.test.ts#flushSpans)`,
    );
  });

  it('a request the agent sends from inside the run is a divergence that names its site', async () => {
    const result = await replay('sends-from-inside');
    expect(result.divergences.map((divergence) => [divergence.code, divergence.causalKey, divergence.site])).toEqual([
      ['UNSANCTIONED_NONDETERMINISM', `egress:${collector.url}/v1/logs`, expect.stringMatching(/sealed-replay\.test\.ts#answer/)],
    ]);
  });

  it('a fork is sealed too: its live model answers, the background exporter is refused and listed', async () => {
    const live = await startSimulatorServer({ port: 0, seed: 'sealed-fork' });
    try {
      const before = { ...collector };
      const atSeq = (await loadTape(store, 'run_traced')).events.find((event) => event.kind === 'model')?.seq ?? -1;
      const result = await forkRun({
        store,
        runId: 'run_traced',
        atSeq,
        agent: tracedAgent('original', exporters) as never,
        redactionSalt: SALT,
        overrides: { model: 'support-sim-2026-04-01' },
        reads: 'frozen',
        endpoint: { baseUrl: `${live.url}/v1`, apiKey: 'sim' },
        env: { BASE_URL: 'http://127.0.0.1:9' },
      });
      expect(result.error).toBeNull();
      expect(result.counts.liveModelCalls).toBe(1);
      expect(collector.requests).toBe(before.requests);
      expect(collector.connections).toBe(before.connections);
      expect(result.refusedRequests.map((refused) => refused.target)).toEqual([
        `${collector.url}/v1/traces`,
        `${collector.url}/v1/metrics`,
        `tcp://127.0.0.1:${collector.port}`,
      ]);
    } finally {
      await live.close();
    }
  });

  it('after the replay the process is no longer sealed', async () => {
    const before = collector.requests;
    expect((await fetch(`${collector.url}/after`)).status).toBe(200);
    expect(collector.requests).toBe(before + 1);
  });
});
