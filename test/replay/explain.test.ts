import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, createDemoAccountsNow, createDemoWorld, DEMO_NOW_ALIASES, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { explainRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

let store: Store;
let now: Awaited<ReturnType<typeof startSimulatorServer>>;

beforeAll(async () => {
  const history = await startSimulatorServer({ port: 0, seed: 'retrial-demo-history-38' });
  store = createMemoryStore();
  const world = createDemoWorld({ runs: 2, endAt: Date.UTC(2026, 10, 20) });
  const incident = world.tickets.find((scheduled) => scheduled.ticket.ticketId === world.incidentTicketId);
  if (!incident) throw new Error('no incident');
  const rec = createRecorder({ store, agent: supportAgent.name, redaction: { salt: 'explain', rules: supportAgent.piiRules } });
  const handle = supportAgent.create({ rec, env: { RETRIAL_MODEL_BASE_URL: `${history.url}/v1` }, services: createAccountSystem([incident.account]) });
  const output = await rec.run(incident.ticket, handle, { runId: 'run_incident', startAt: incident.at });
  expect(output.actions).toEqual(['close_account']);
  await history.close();
  // The world now: the alias moved to the newer version, and the customer has paid.
  now = await startSimulatorServer({ port: 0, seed: 'explain-now', aliases: DEMO_NOW_ALIASES });
});
afterAll(async () => now.close());

describe('explain: why does it work when I try it now?', () => {
  it('names the two factors that really moved in the demo world (model behind the alias, account data) and not the others', async () => {
    const accountsNow = createDemoAccountsNow();
    const result = await explainRun({
      store,
      runId: 'run_incident',
      agent: supportAgent as never,
      redactionSalt: 'explain',
      endpoint: { baseUrl: `${now.url}/v1`, apiKey: 'sim' },
      servicesNow: accountsNow,
    });
    expect(result.recordedAnswer).toBe('close_account');
    expect(Object.fromEntries(result.factors.map((factor) => [factor.factor, factor.moved]))).toEqual({
      model: true,
      prompt: false,
      toolData: true,
      clock: true,
    });
    expect(result.factors.find((factor) => factor.factor === 'model')?.current).toBe('support-sim → support-sim-2026-04-01');
    const rate = Object.fromEntries(result.counterfactuals.map((entry) => [entry.configuration, entry.estimate]));
    // As recorded, the bad branch comes back at about its true rate of 3.5% (coverage of the
    // interval itself is what the resample calibration test checks).
    expect(rate.recorded?.rate).toBeGreaterThan(0.01);
    expect(rate.recorded?.rate).toBeLessThan(0.08);
    expect(result.explainingFactors).toEqual(['model', 'toolData']);
    expect(rate.current?.successes).toBe(0);
    expect(result.notCaptured.length).toBeGreaterThan(2);
    expect(accountsNow.writes).toEqual({});
  });

  it("counterfactual runs never land in the user's store", async () => {
    expect((await store.listRuns({})).map((run) => run.runId)).toEqual(['run_incident']);
  });
});
