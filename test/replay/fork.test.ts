import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, createDemoWorld, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { describeStep, loadTape } from '../../src/inspect/index.ts';
import { createRecorder, createRedactor, defineAgent, type PiiRule } from '../../src/record/index.ts';
import { forkRun, replayRun, resampleStep, runSanctioned } from '../../src/replay/index.ts';
import { createMemoryStore, exportRun, importRun, type Store } from '../../src/store/index.ts';
import { createBlob } from '../../src/tape/index.ts';
import { editTape } from './edit-tape.ts';

const SALT = 'fork-salt';
let store: Store;
let simulator: Awaited<ReturnType<typeof startSimulatorServer>>;
let decisionStep = -1;

beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'retrial-demo-history-38' });
  store = createMemoryStore();
  const world = createDemoWorld({ runs: 2, endAt: Date.UTC(2026, 10, 20) });
  const incident = world.tickets.find((scheduled) => scheduled.ticket.ticketId === world.incidentTicketId);
  if (!incident) throw new Error('no incident');
  const rec = createRecorder({ store, agent: supportAgent.name, redaction: { salt: SALT, rules: supportAgent.piiRules } });
  const handle = supportAgent.create({ rec, env: { RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` }, services: createAccountSystem([incident.account]) });
  await rec.run(incident.ticket, handle, { runId: 'run_parent', startAt: incident.at });
  decisionStep = (await loadTape(store, 'run_parent')).events.filter((event) => event.kind === 'model')[1]?.seq ?? -1;
});
afterAll(async () => simulator.close());

/** One chat completion from the simulator through the agent's recorded fetch. */
async function askSimulator(recFetch: typeof fetch, text: string): Promise<string> {
  const response = await recFetch(`${simulator.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sim' },
    body: JSON.stringify({ model: 'support-sim', messages: [{ role: 'user', content: text }], temperature: 0 }),
  });
  return response.text();
}

/** Forks a run at its first model step onto the simulator's newer model. */
async function forkAtFirstModelStep(forkStore: Store, runId: string, agent: unknown, reads: 'frozen' | 'live', childRunId: string) {
  const atSeq = (await loadTape(forkStore, runId)).events.find((event) => event.kind === 'model')?.seq ?? -1;
  return forkRun({
    store: forkStore,
    runId,
    atSeq,
    agent: agent as never,
    redactionSalt: SALT,
    overrides: { model: 'support-sim-2026-04-01' },
    reads,
    endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
    childRunId,
  });
}

/** Asks the model twice, then looks a customer up: the parts a fork replays, runs live and serves. */
function lookupAgent(variant: { firstText: string; customer: string; catchModelErrors?: boolean }, world: { lookups: number }) {
  return defineAgent<Record<string, never>, string, unknown>({
    name: 'lookup-agent',
    codeVersion: 't',
    create({ rec }) {
      const lookup = rec.tool(
        'lookup',
        async (query: { customer: string }) => {
          world.lookups++;
          return { customer: query.customer, balance: query.customer === 'C-1' ? 5 : null };
        },
        { effect: 'read' },
      );
      return async () => {
        // Like an SDK retrying, or code that carries on without an answer.
        await askSimulator(rec.fetch, variant.firstText).catch((error: Error) => {
          if (!variant.catchModelErrors) throw error;
        });
        await askSimulator(rec.fetch, 'second').catch((error: Error) => {
          if (!variant.catchModelErrors) throw error;
        });
        return lookup({ customer: variant.customer }).then(
          (account) => JSON.stringify(account),
          (error: Error) => `refused: ${error.message}`,
        );
      };
    },
  });
}

describe('fork: replay up to step k, live from k', () => {
  it('goes live at the decision step with another model, serves earlier calls and reads from the parent, and never runs a write tool', async () => {
    const accounts = createAccountSystem();
    const result = await forkRun({
      store,
      runId: 'run_parent',
      atSeq: decisionStep,
      agent: supportAgent as never,
      redactionSalt: SALT,
      services: accounts,
      overrides: { model: 'support-sim-2026-04-01' },
      reads: 'frozen',
      endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
      childRunId: 'run_child',
    });
    expect(result.error).toBeNull();
    expect(accounts.writes).toEqual({});
    expect(result.counts.liveModelCalls).toBeGreaterThanOrEqual(1);
    expect(result.counts.servedFromParent).toBeGreaterThanOrEqual(2);
    expect(result.counts.stubbedWrites).toBe(1);

    const child = await loadTape(store, 'run_child');
    expect(child.run.header.fork).toEqual({
      fromRun: 'run_parent',
      atSeq: decisionStep,
      overrides: { model: 'support-sim-2026-04-01', reads: 'frozen', liveFrom: 'model:openai-chat#1', endpoint: `${simulator.url}/v1` },
    });
    const models = child.events.filter((event) => event.kind === 'model');
    expect(models[0]?.kind === 'model' && models[0].request.model).toBe('support-sim');
    const live = describeStep(child, models[1]?.seq ?? -1);
    expect(live.kind === 'model' && live.model).toEqual({ requested: 'support-sim-2026-04-01', served: 'support-sim-2026-04-01' });
    const writes = child.events.filter((event) => event.kind === 'tool' && event.effect === 'write');
    expect(writes.every((event) => event.kind === 'tool' && event.stubbed === true)).toBe(true);
    expect(child.events.some((event) => event.kind === 'decision')).toBe(true);
    expect(await store.listDecisions({ runId: 'run_child' })).toEqual([]);
    // The prompt's date is the parent's: clock reads were served from the parent tape.
    const parentPrompt = describeStep(await loadTape(store, 'run_parent'), 6);
    const childPrompt = describeStep(child, models[0]?.seq ?? -1);
    expect(childPrompt.kind === 'model' && childPrompt.messages[0]).toEqual(parentPrompt.kind === 'model' && parentPrompt.messages[0]);
  });

  it('the child is a run like any other: it replays exactly and can be resampled', async () => {
    const replay = await replayRun({ store, runId: 'run_child', agent: supportAgent as never, redactionSalt: SALT, services: createAccountSystem() });
    expect(replay.divergences).toEqual([]);
    const child = await loadTape(store, 'run_child');
    const step = child.events.filter((event) => event.kind === 'model')[1]?.seq ?? -1;
    const resample = await resampleStep({ store, runId: 'run_child', step, n: 20, target: null, baseUrl: `${simulator.url}/v1`, apiKey: 'sim', save: false });
    expect(resample.model.served).toEqual({ 'support-sim-2026-04-01': 20 });
  });

  it('refuses to fork at a step that is not a model call', async () => {
    await expect(
      forkRun({
        store,
        runId: 'run_parent',
        atSeq: 0,
        agent: supportAgent as never,
        redactionSalt: SALT,
        overrides: {},
        reads: 'frozen',
        endpoint: { baseUrl: simulator.url, apiKey: '' },
      }),
    ).rejects.toThrow(/not a model step; fork at one of/);
  });

  it('refuses a step the parent does not have as not found', async () => {
    await expect(
      forkRun({
        store,
        runId: 'run_parent',
        atSeq: 999,
        agent: supportAgent as never,
        redactionSalt: SALT,
        overrides: {},
        reads: 'frozen',
        endpoint: { baseUrl: simulator.url, apiKey: '' },
      }),
    ).rejects.toMatchObject({ code: 'STEP_NOT_FOUND' });
  });

  it('a frozen read with other arguments than the parent used is refused, never answered with the parent result; live runs it', async () => {
    const recorded = createMemoryStore();
    const world = { lookups: 0 };
    const rec = createRecorder({ store: recorded, agent: 'lookup-agent', redaction: { salt: SALT } });
    await rec.run({}, lookupAgent({ firstText: 'first', customer: 'C-1' }, world).create({ rec, env: {} }), { runId: 'run_lookup' });
    expect(world.lookups).toBe(1);
    const atSeq = (await loadTape(recorded, 'run_lookup')).events.filter((event) => event.kind === 'model')[1]?.seq ?? -1;
    const fork = (reads: 'frozen' | 'live', customer: string, childRunId: string) =>
      forkRun({
        store: recorded,
        runId: 'run_lookup',
        atSeq,
        agent: lookupAgent({ firstText: 'first', customer }, world) as never,
        redactionSalt: SALT,
        overrides: {},
        reads,
        endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
        childRunId,
      });
    expect((await fork('frozen', 'C-1', 'run_lookup_same')).output).toBe('{"customer":"C-1","balance":5}');
    const frozen = await fork('frozen', 'c-1', 'run_lookup_frozen');
    expect(frozen.output).toMatch(/^refused: lookup with these arguments is not on the parent tape/);
    expect(world.lookups).toBe(1);
    const live = await fork('live', 'c-1', 'run_lookup_live');
    expect(live.output).toBe('{"customer":"c-1","balance":null}');
    expect(world.lookups).toBe(2);
  });

  it('stops when the code before the fork step no longer makes the parent request, and names a dead endpoint', async () => {
    const recorded = createMemoryStore();
    const world = { lookups: 0 };
    const rec = createRecorder({ store: recorded, agent: 'lookup-agent', redaction: { salt: SALT } });
    await rec.run({}, lookupAgent({ firstText: 'first', customer: 'C-1' }, world).create({ rec, env: {} }), { runId: 'run_strict' });
    const atSeq = (await loadTape(recorded, 'run_strict')).events.filter((event) => event.kind === 'model')[1]?.seq ?? -1;
    const fork = (firstText: string, baseUrl: string, childRunId: string) =>
      forkRun({
        store: recorded,
        runId: 'run_strict',
        atSeq,
        agent: lookupAgent({ firstText, customer: 'C-1' }, world) as never,
        redactionSalt: SALT,
        overrides: {},
        reads: 'frozen',
        endpoint: { baseUrl, apiKey: 'sim' },
        childRunId,
      });
    const edited = await fork('first, edited', `${simulator.url}/v1`, 'run_strict_edited');
    expect(edited.error).toMatch(
      /the request at model:openai-chat#0 \(step \d+\) differs from the parent's before the fork step: the code no longer reproduces the parent up to step \d+;/,
    );
    expect(edited.endpointError).toBeNull();
    expect(edited.counts.liveModelCalls).toBe(0);
    // The agent carries on past the refusal, and its next call goes live at the fork step's key:
    // the child still failed, with the refusal as its reason.
    const carriedOn = await forkRun({
      store: recorded,
      runId: 'run_strict',
      atSeq,
      agent: lookupAgent({ firstText: 'first, edited', customer: 'C-1', catchModelErrors: true }, world) as never,
      redactionSalt: SALT,
      overrides: {},
      reads: 'frozen',
      endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
      childRunId: 'run_strict_carried_on',
    });
    expect(carriedOn.error).toMatch(/differs from the parent's before the fork step/);
    const dead = await fork('first', 'http://127.0.0.1:9/v1', 'run_strict_dead');
    expect(dead.endpointError).toMatch(/^http:\/\/127\.0\.0\.1:9\/v1\/chat\/completions is not answering/);
    expect(dead.error).not.toBeNull();
    // An agent that carries on without the answer still had a dead endpoint.
    const swallowed = await forkRun({
      store: recorded,
      runId: 'run_strict',
      atSeq,
      agent: lookupAgent({ firstText: 'first', customer: 'C-1', catchModelErrors: true }, world) as never,
      redactionSalt: SALT,
      overrides: {},
      reads: 'frozen',
      endpoint: { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sim' },
      childRunId: 'run_strict_swallowed',
    });
    expect(swallowed.error).toBeNull();
    expect(swallowed.endpointError).toMatch(/is not answering/);
  });

  it('a live read reaches its own world (node:http, rec.fetch, its own model calls) but runs no write; an endpoint that answers a retry did not fail the child', async () => {
    let crmHits = 0;
    let modelRequests = 0;
    let notified = 0;
    const crm = createServer((request, response) => {
      crmHits++;
      response.end(JSON.stringify({ path: request.url }));
    });
    // The model endpoint refuses the first request with 503, then answers as the simulator.
    const flaky = createServer(async (request, response) => {
      const body = await new Promise<string>((resolve) => {
        let text = '';
        request.on('data', (chunk) => {
          text += chunk;
        });
        request.on('end', () => resolve(text));
      });
      if (modelRequests++ === 0) {
        response.writeHead(503).end('busy');
        return;
      }
      // This server stands for another process: its own request is not the fork's, which seals this one.
      const answer = await runSanctioned(() =>
        fetch(`${simulator.url}${request.url?.replace(/^\/v1/, '/v1')}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }),
      );
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
    });
    await Promise.all([crm, flaky].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    const urlOf = (server: typeof crm) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const crmAgent = (customer: string) =>
      defineAgent<Record<string, never>, string, unknown>({
        name: 'crm-agent',
        codeVersion: 't',
        create({ rec }) {
          const notify = rec.tool('notify', async () => {
            notified++;
            return 'sent';
          });
          const lookup = rec.tool(
            'crm_lookup',
            async (query: { customer: string }) => {
              const viaHttp = await new Promise<string>((resolve, reject) =>
                httpGet(`${urlOf(crm)}/http/${query.customer}`, (response) => {
                  let text = '';
                  response.on('data', (chunk) => {
                    text += chunk;
                  });
                  response.on('end', () => resolve(text));
                }).on('error', reject),
              );
              const viaRecFetch = await (await rec.fetch(`${urlOf(crm)}/rec/${query.customer}`)).text();
              // The tool's own model call (a classifier, say) goes to the tool's URL, not the fork's endpoint.
              const classified = await (
                await rec.fetch(`${urlOf(crm)}/v1/chat/completions`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ model: 'classifier', messages: [{ role: 'user', content: query.customer }] }),
                })
              ).text();
              const notice = await notify().catch((error: Error) => `refused: ${error.message}`);
              return [viaHttp, viaRecFetch, classified, notice];
            },
            { effect: 'read' },
          );
          return async () => {
            let answer = await askSimulator(rec.fetch, 'first');
            if (answer === 'busy') answer = await askSimulator(rec.fetch, 'first');
            return JSON.stringify(await lookup({ customer }));
          };
        },
      });
    try {
      const recorded = createMemoryStore();
      const rec = createRecorder({ store: recorded, agent: 'crm-agent', redaction: { salt: SALT } });
      await rec.run({}, crmAgent('C-1').create({ rec, env: {} }), { runId: 'run_crm' });
      expect(crmHits).toBe(3);
      expect(notified).toBe(1);
      const atSeq = (await loadTape(recorded, 'run_crm')).events.find((event) => event.kind === 'model')?.seq ?? -1;
      const result = await forkRun({
        store: recorded,
        runId: 'run_crm',
        atSeq,
        agent: crmAgent('C-2') as never,
        redactionSalt: SALT,
        overrides: {},
        reads: 'live',
        endpoint: { baseUrl: `${urlOf(flaky)}/v1`, apiKey: 'sim' },
        childRunId: 'run_crm_child',
      });
      expect(result.error).toBeNull();
      expect(result.endpointError).toBeNull();
      expect(modelRequests).toBe(2);
      const [viaHttp, viaRecFetch, classified, notice] = JSON.parse(result.output as string);
      expect([viaHttp, viaRecFetch, classified]).toEqual(['{"path":"/http/C-2"}', '{"path":"/rec/C-2"}', '{"path":"/v1/chat/completions"}']);
      expect(crmHits).toBe(6);
      // A write called from inside the live read is refused: no side effect fires in a fork.
      expect(notice).toMatch(/^refused: notify is a write tool, called inside a read that a fork runs live/);
      expect(notified).toBe(1);
    } finally {
      await Promise.all([crm, flaky].map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });

  it('plain HTTP through rec.fetch: the parent answer for the same request only; other GETs refused when frozen, live when live; strict before the step', async () => {
    let hits = 0;
    const api = createServer((request, response) => {
      hits++;
      response.end(JSON.stringify({ path: request.url }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const httpAgent = (before: string, after: string, post = false, base = apiUrl) =>
      defineAgent<Record<string, never>, string, unknown>({
        name: 'http-agent',
        codeVersion: 't',
        create({ rec }) {
          const get = (query: string) =>
            rec.fetch(`${base}/accounts?customer=${query}`).then(
              (response) => response.text(),
              (error: Error) => `refused: ${error.message}`,
            );
          return async () => {
            const first = await get(before);
            await askSimulator(rec.fetch, 'first');
            // A POST built as a Request: its method is in the Request, not in an init.
            if (post)
              return rec.fetch(new Request(`${apiUrl}/accounts`, { method: 'POST', body: after })).then(
                (response) => response.text(),
                (error: Error) => `refused: ${error.message}`,
              );
            return `${first} ${await get(after)}`;
          };
        },
      });
    try {
      const recorded = createMemoryStore();
      const rec = createRecorder({ store: recorded, agent: 'http-agent', redaction: { salt: SALT } });
      await rec.run({}, httpAgent('A', 'C-1').create({ rec, env: {} }), { runId: 'run_http' });
      expect(hits).toBe(2);
      const atSeq = (await loadTape(recorded, 'run_http')).events.find((event) => event.kind === 'model')?.seq ?? -1;
      const fork = (before: string, after: string, reads: 'frozen' | 'live' | 'current', childRunId: string, post = false, base = apiUrl) =>
        forkRun({
          store: recorded,
          runId: 'run_http',
          atSeq,
          agent: httpAgent(before, after, post, base) as never,
          redactionSalt: SALT,
          overrides: {},
          reads,
          endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
          childRunId,
        });
      expect((await fork('A', 'C-1', 'frozen', 'run_http_same')).output).toBe('{"path":"/accounts?customer=A"} {"path":"/accounts?customer=C-1"}');
      // Another host and port than recorded (the laptop's config): the same requests, served from the parent.
      expect((await fork('A', 'C-1', 'frozen', 'run_http_moved', false, 'http://accounts.internal:8080')).output).toBe(
        '{"path":"/accounts?customer=A"} {"path":"/accounts?customer=C-1"}',
      );
      expect((await fork('A', 'C-2', 'frozen', 'run_http_frozen')).output).toMatch(
        / refused: GET \S+customer=C-2 is not on the parent tape and reads are frozen$/,
      );
      expect(hits).toBe(2);
      expect((await fork('A', 'C-2', 'live', 'run_http_live')).output).toMatch(/ \{"path":"\/accounts\?customer=C-2"\}$/);
      expect(hits).toBe(3);
      expect((await fork('B', 'C-1', 'live', 'run_http_strict')).error).toMatch(
        /the agent sent http:GET#0, which the parent sent with other content, before the fork step/,
      );
      expect(hits).toBe(3);
      expect((await fork('A', 'C-2', 'live', 'run_http_post', true)).output).toMatch(
        /^refused: a fork never sends POST \S+\/accounts: it may change the world/,
      );
      expect(hits).toBe(3);
      // Reads as they are now ask the world again, even what the parent asked.
      expect((await fork('A', 'C-1', 'current', 'run_http_current')).output).toBe('{"path":"/accounts?customer=A"} {"path":"/accounts?customer=C-1"}');
      expect(hits).toBe(5);
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });

  it('a tool wrapped by another recorder is never run inside a replay', async () => {
    const recorded = createMemoryStore();
    let charged = 0;
    // Wrapped at module level by the service's own recorder, not by the rec create() is given.
    const serviceRec = createRecorder({ store: recorded, agent: 'foreign-agent', redaction: { salt: SALT } });
    const charge = serviceRec.tool('charge', async (_amount: number) => {
      charged++;
      return 'charged';
    });
    const foreign = defineAgent<Record<string, never>, string, unknown>({
      name: 'foreign-agent',
      codeVersion: 't',
      create({ rec }) {
        return async () => {
          await askSimulator(rec.fetch, 'first');
          return charge(5).catch((error: Error) => `refused: ${error.message}`);
        };
      },
    });
    await serviceRec.run({}, foreign.create({ rec: serviceRec, env: {} }), { runId: 'run_foreign' });
    expect(charged).toBe(1);
    const replay = await replayRun({ store: recorded, runId: 'run_foreign', agent: foreign as never, redactionSalt: SALT });
    expect(charged).toBe(1);
    expect(replay.ok).toBe(false);
  });

  it("explain's counterfactual worlds (the clock now, reads as now) do not hold calls before the fork step to the parent's", async () => {
    const recorded = createMemoryStore();
    let audits = 0;
    const auditing = defineAgent<Record<string, never>, string, unknown>({
      name: 'auditing-agent',
      codeVersion: 't',
      create({ rec }) {
        const audit = rec.tool('audit', async (_entry: { at: number }) => {
          audits++;
          return { ok: true };
        });
        return async () => {
          await audit({ at: Date.now() });
          return askSimulator(rec.fetch, 'first');
        };
      },
    });
    const rec = createRecorder({ store: recorded, agent: 'auditing-agent', redaction: { salt: SALT } });
    await rec.run({}, auditing.create({ rec, env: {} }), { runId: 'run_audit', startAt: Date.UTC(2026, 0, 1) });
    const atSeq = (await loadTape(recorded, 'run_audit')).events.find((event) => event.kind === 'model')?.seq ?? -1;
    const result = await forkRun({
      store: recorded,
      runId: 'run_audit',
      atSeq,
      agent: auditing as never,
      redactionSalt: SALT,
      overrides: {},
      reads: 'frozen',
      clock: 'now',
      endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
      childRunId: 'run_audit_now',
    });
    expect(result.error).toBeNull();
    expect(result.counts.stubbedWrites).toBe(1);
    expect(audits).toBe(1);
  });

  it('a fork of a fork child checks the child calls sent with its own overrides as they were sent', async () => {
    const child = await loadTape(store, 'run_child');
    const lastModel = child.events.filter((event) => event.kind === 'model').at(-1);
    expect(lastModel?.key).toBe('model:openai-chat#2');
    const result = await forkRun({
      store,
      runId: 'run_child',
      atSeq: lastModel?.seq ?? -1,
      agent: supportAgent as never,
      redactionSalt: SALT,
      services: createAccountSystem(),
      overrides: { temperature: 0.5 },
      reads: 'frozen',
      endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
      childRunId: 'run_grandchild',
    });
    expect(result.error).toBeNull();
    expect(result.counts.liveModelCalls).toBe(1);
  });

  it("blocks the agent's own network calls in the child: only the model endpoint goes live", async () => {
    // A webhook the agent calls with the global fetch, outside rec.fetch: live while recording, never in a fork.
    let webhookHits = 0;
    const webhook = createServer((_request, response) => {
      webhookHits++;
      response.end('ok');
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
    const notifying = defineAgent<{ text: string }, string, unknown>({
      name: 'notifying-agent',
      codeVersion: 't',
      create({ rec }) {
        return async (input) => {
          await askSimulator(rec.fetch, input.text);
          const hook = await fetch(webhookUrl).then(
            () => 'sent',
            (error: Error) => `blocked: ${error.message}`,
          );
          return hook;
        };
      },
    });
    try {
      const rec = createRecorder({ store, agent: notifying.name, redaction: { salt: SALT } });
      await rec.run({ text: 'I would like a refund for my last charge.' }, notifying.create({ rec, env: {} }), { runId: 'run_notifying' });
      expect(webhookHits).toBe(1);
      const result = await forkAtFirstModelStep(store, 'run_notifying', notifying, 'frozen', 'run_notifying_child');
      expect(result.counts.liveModelCalls).toBe(1);
      expect(result.output).toMatch(/^blocked: .*\/hook/);
      expect(webhookHits).toBe(1);
    } finally {
      await new Promise((resolve) => webhook.close(resolve));
    }
  });

  it('serves a read from the parent whose arguments the parent hashed as recorders before 2026-11-26 did', async () => {
    // Those recorders redacted arguments as they were, so with PII rules a Date was hashed as {}.
    const rules: PiiRule[] = [{ name: 'email', pattern: /[\w.+-]+@[\w-]+\.[\w.]+/ }];
    const since = new Date('2026-01-01T00:00:00.000Z');
    let liveHistory = 0;
    const dated = defineAgent<{ text: string }, string, unknown>({
      name: 'dated-agent',
      codeVersion: 't',
      piiRules: rules,
      create({ rec }) {
        const history = rec.tool(
          'history',
          async (query: { since: Date; who: string }) => {
            liveHistory++;
            return query.who ? 3 : 0;
          },
          { effect: 'read' },
        );
        return async (input) => {
          await askSimulator(rec.fetch, input.text);
          return `charges: ${await history({ since, who: 'ana@example.com' })}`;
        };
      },
    });
    const recorded = createMemoryStore();
    const rec = createRecorder({ store: recorded, agent: dated.name, redaction: { salt: SALT, rules } });
    await rec.run({ text: 'How many charges since January?' }, dated.create({ rec, env: {} }), { runId: 'run_dated' });
    expect(liveHistory).toBe(1);
    const oldHash = createBlob(createRedactor({ salt: SALT, rules }).value([{ since, who: 'ana@example.com' }])).hash;
    const legacy = createMemoryStore();
    const { runId } = await importRun(
      legacy,
      editTape(await exportRun(recorded, 'run_dated'), (events) => events.map((event) => (event.kind === 'tool' ? { ...event, requestHash: oldHash } : event))),
    );
    // Live reads: only a match by content serves the parent's answer; anything else runs again.
    const result = await forkAtFirstModelStep(legacy, runId, dated, 'live', 'run_dated_child');
    expect(result.output).toBe('charges: 3');
    expect(result.counts.liveReads).toBe(0);
    expect(liveHistory).toBe(1);
  });
});
