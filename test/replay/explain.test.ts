import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderExplain } from '../../src/cli/commands/explain-command.ts';
import { createAccountSystem, createDemoAccountsNow, createDemoWorld, DEMO_NOW_ALIASES, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { createRecorder, type Recorder } from '../../src/record/index.ts';
import { type ExplainOptions, type ExplainResult, explainRun } from '../../src/replay/index.ts';
import { wilsonInterval } from '../../src/stats/index.ts';
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

/** The demo agent with its recorder edited, as an edited copy of its module would behave. */
function edited(edit: (rec: Recorder) => Recorder): ExplainOptions['agent'] {
  const create: typeof supportAgent.create = (context) => supportAgent.create({ ...context, rec: edit(context.rec) });
  return { ...supportAgent, create } as never;
}
/** Edits the JSON body of every model request the agent sends. */
const editRequests = (change: (body: { messages: Array<{ role: string; content: string }> }) => void) =>
  edited((rec) => ({
    ...rec,
    fetch: (input, init) => {
      const body = JSON.parse(String(init?.body));
      change(body);
      return rec.fetch(input, { ...init, body: JSON.stringify(body) });
    },
  }));
const explainWith = (agent: ExplainOptions['agent'], more: Partial<ExplainOptions> = {}) =>
  explainRun({
    store,
    runId: 'run_incident',
    agent,
    redactionSalt: 'explain',
    endpoint: { baseUrl: `${now.url}/v1`, apiKey: 'sim' },
    servicesNow: createDemoAccountsNow(),
    repetitions: 10,
    ...more,
  });

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

  it('stops, naming the first divergence and storing nothing, when the code makes a call the tape does not have before the decision step', async () => {
    const extraRetrieval = edited((rec) => ({
      ...rec,
      retrieval: ((name: string, fn: (query: string) => unknown) => {
        const search = rec.retrieval(name, fn);
        return async (query: string) => {
          const found = await search(query);
          await search('grace period');
          return found;
        };
      }) as Recorder['retrieval'],
    }));
    const stored = (await store.listRunAnalyses('run_incident', 'explain')).length;
    const error = await explainWith(extraRetrieval).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'NOT_REPRODUCED', divergence: { code: 'MISSING_CALL', causalKey: 'retrieval:policy-kb#1' } });
    expect((error as Error).message).toContain('retrial replay run_incident --agent');
    expect((await store.listRunAnalyses('run_incident', 'explain')).length).toBe(stored);
  });

  it('stops, storing nothing, when the run with everything as recorded does not reach the decision step (here: the endpoint is down)', async () => {
    const stored = (await store.listRunAnalyses('run_incident', 'explain')).length;
    const error = await explainWith(supportAgent as never, { endpoint: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sim' } }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'NOT_REPRODUCED', divergence: null, reason: expect.stringMatching(/^the run failed before model:openai-chat#1: /) });
    expect((error as Error).message).toContain('with everything as recorded, the run did not reach its decision step (step ');
    expect((await store.listRunAnalyses('run_incident', 'explain')).length).toBe(stored);
  });

  it('stops when a model request differs beyond the system prompt, which no factor switches back', async () => {
    const editedTicket = editRequests((body) => {
      const user = body.messages.find((message) => message.role === 'user');
      if (user) user.content += ' Thanks.';
    });
    await expect(explainWith(editedTicket, { save: false })).rejects.toMatchObject({
      code: 'NOT_REPRODUCED',
      divergence: { code: 'PAYLOAD_MISMATCH', causalKey: 'model:openai-chat#0' },
    });
  });

  it('takes an edited system prompt as the prompt factor moving, not as a failure to reproduce', async () => {
    const editedPrompt = editRequests((body) => {
      const system = body.messages.find((message) => message.role === 'system');
      if (system) system.content += '\nNever close an account without confirmation.';
    });
    const result = await explainWith(editedPrompt, { save: false });
    expect(result.factors.find((factor) => factor.factor === 'prompt')).toMatchObject({ moved: true, recorded: '8438 characters', current: '8483 characters' });
    expect(result.counterfactuals.every((entry) => entry.failure === undefined && entry.estimate.trials === 10)).toBe(true);
  });

  it('reports a change to the config flags alone as the prompt-and-config factor moving, and says what moved', async () => {
    const editedConfig = edited((rec) => ({ ...rec, config: (config) => rec.config({ ...config, flags: { ...config.flags, graceDays: 14 } }) }));
    const result = await explainWith(editedConfig, { save: false });
    expect(result.factors.find((factor) => factor.factor === 'prompt')).toMatchObject({
      moved: true,
      recorded: '8438 characters',
      current: '8438 characters; config changed: graceDays 30 -> 14',
    });
  });

  it('shows a configuration whose run failed as failed with the reason, never as 0 of 0, and draws no conclusion from it', async () => {
    const accountsDown = new Proxy(createDemoAccountsNow(), {
      get: (target, property) =>
        property === 'lookup'
          ? () => {
              throw new Error('the accounts service is down');
            }
          : Reflect.get(target, property),
    });
    const result = await explainWith(supportAgent as never, { servicesNow: accountsDown, save: false });
    const byConfiguration = Object.fromEntries(result.counterfactuals.map((entry) => [entry.configuration, entry]));
    for (const configuration of ['toolData', 'current'] as const) {
      expect(byConfiguration[configuration]?.failure).toMatch(/failed before model:openai-chat#1: .*the accounts service is down/);
      expect(byConfiguration[configuration]).toMatchObject({ runs: 0, changesOutcome: false });
    }
    expect(byConfiguration.recorded?.failure).toBeUndefined();
    expect(byConfiguration.recorded?.estimate.trials).toBe(10);
    expect(result.explainingFactors).not.toContain('toolData');
    expect(result.factors.find((factor) => factor.factor === 'toolData')?.moved).toBeNull();
    const text = renderExplain(result);
    expect(text).not.toContain('0 of 0');
    expect(text).toMatch(/tool and retrieval data: now +run failed +not measured/);
    expect(text).toContain('tool and retrieval data: now failed: the run failed before model:openai-chat#1');
  });

  it("counterfactual runs never land in the user's store", async () => {
    expect((await store.listRuns({})).map((run) => run.runId)).toEqual(['run_incident']);
  });
});

describe('explain, as printed', () => {
  const entry = (configuration: ExplainResult['counterfactuals'][number]['configuration'], successes: number, changesOutcome = false) => ({
    configuration,
    runs: 100,
    estimate: wilsonInterval(successes, 100),
    changesOutcome,
  });
  it('says "not significant at N" where the rate moved but the test cannot tell it from noise, "no" only where neither the factor nor the rate moved', () => {
    const factor = (name: ExplainResult['factors'][number]['factor'], moved: boolean) => ({ factor: name, recorded: 'then', current: 'now', moved });
    const text = renderExplain({
      runId: 'run_x',
      decision: { type: 'account.action', value: 'close', seq: 20 },
      recordedAnswer: 'close_account',
      factors: [factor('model', true), factor('prompt', false), factor('toolData', true), factor('clock', true)],
      counterfactuals: [entry('recorded', 4), entry('model', 0), entry('prompt', 6), entry('clock', 4), entry('toolData', 40, true)],
      explainingFactors: ['toolData'],
      notCaptured: [],
    });
    const row = (label: string) => text.split('\n').find((line) => line.startsWith(label));
    expect(row('model behind the alias: now')).toMatch(/not significant at N=100$/);
    expect(row('prompt and config: now')).toMatch(/ no$/);
    expect(row('clock: now')).toMatch(/ no$/);
    expect(row('tool and retrieval data: now')).toMatch(/ YES$/);
  });
});
