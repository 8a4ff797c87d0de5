import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoWorld, createSimulatedModel, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { describeStep, loadTape } from '../../src/inspect/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { EndpointError, resampleStep } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

let store: Store;
let decisionStep = 0;
let requestBody: unknown;
let simulator: Awaited<ReturnType<typeof startSimulatorServer>>;

/** A fetch that answers from an in-process simulated model: same answers as the server, no sockets. */
function inProcessFetch(seed: string): typeof fetch {
  const model = createSimulatedModel({ seed });
  return async (_url, init) =>
    new Response(JSON.stringify(model.complete(JSON.parse(String(init?.body)))), { headers: { 'content-type': 'application/json' } });
}

beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'calibration-recording' });
  store = createMemoryStore();
  const world = createDemoWorld({ runs: 2, endAt: Date.UTC(2026, 10, 20) });
  const incident = world.tickets.find((scheduled) => scheduled.ticket.ticketId === world.incidentTicketId);
  if (!incident) throw new Error('no incident in the demo world');
  const rec = createRecorder({ store, agent: 'support-agent', redaction: { salt: 's' } });
  const { createAccountSystem } = await import('../../src/demo/index.ts');
  const handle = supportAgent.create({ rec, env: { RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` }, services: createAccountSystem([incident.account]) });
  await rec.run(incident.ticket, handle, { runId: 'run_incident', startAt: incident.at });
  const tape = await loadTape(store, 'run_incident');
  const models = tape.events.filter((event) => event.kind === 'model');
  decisionStep = models[1]?.seq ?? -1;
  const detail = describeStep(tape, decisionStep);
  if (detail.kind !== 'model') throw new Error('expected a model step');
  requestBody = JSON.parse(detail.wire.requestText);
});
afterAll(async () => simulator.close());

describe("resample: behaviour rate at a step, checked against the simulator's true probabilities", () => {
  it('over 100 independent experiments of N=200, the 95% Wilson interval covers the true close_account rate at least 92% of the time', async () => {
    const truth = createSimulatedModel().probabilities(requestBody).close_account ?? 0;
    expect(truth).toBeGreaterThan(0.01);
    expect(truth).toBeLessThan(0.1);
    let covered = 0;
    for (let experiment = 0; experiment < 100; experiment++) {
      const result = await resampleStep({
        store,
        runId: 'run_incident',
        step: decisionStep,
        n: 200,
        target: null,
        baseUrl: 'http://simulator.invalid/v1',
        apiKey: 'unused',
        fetch: inProcessFetch(`experiment-${experiment}`),
        hypothesis: 'close_account',
        concurrency: 1,
        save: false,
      });
      expect(result.completed).toBe(200);
      const { low, high } = result.hypothesis.estimate;
      if (low <= truth && truth <= high) covered++;
    }
    expect(covered).toBeGreaterThanOrEqual(92);
  });

  it('over HTTP against the simulator: distribution, intervals, tokens, served version, and the result stored with the run', async () => {
    const result = await resampleStep({
      store,
      runId: 'run_incident',
      step: decisionStep,
      n: 60,
      target: { provider: 'sim', model: 'support-sim-2026-04-01' },
      baseUrl: `${simulator.url}/v1`,
      apiKey: 'k',
      hypothesis: 'close_account',
    });
    expect(result.completed).toBe(60);
    expect(result.model.served).toEqual({ 'support-sim-2026-04-01': 60 });
    expect(result.distribution.reduce((total, entry) => total + entry.count, 0)).toBe(60);
    expect(result.distribution[0]?.class).toBe('set_grace_period');
    expect(result.tokens.input).toBeGreaterThan(60 * 1000);
    expect(result.costUsd).toBe(0);
    const stored = await store.listRunAnalyses('run_incident', 'resample');
    expect(stored.at(-1)?.analysisId).toBe(result.analysisId);
  });

  it('a dead endpoint gives a clear error and keeps the partial result', async () => {
    let calls = 0;
    const flaky: typeof fetch = async (url, init) => {
      calls++;
      if (calls > 5) throw new TypeError('fetch failed: connect ECONNREFUSED');
      return inProcessFetch('flaky')(url, init);
    };
    const error = await resampleStep({
      store,
      runId: 'run_incident',
      step: decisionStep,
      n: 50,
      target: null,
      baseUrl: 'http://127.0.0.1:9/v1',
      apiKey: 'k',
      fetch: flaky,
      concurrency: 1,
    }).catch((caught) => caught);
    expect(EndpointError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/not answering .*ECONNREFUSED.*5 of 50 answers were kept/);
    const stored = await store.listRunAnalyses('run_incident', 'resample');
    expect(stored.at(-1)?.result).toMatchObject({ completed: 5, complete: false });
  });
});
