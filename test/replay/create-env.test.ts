import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, createDemoWorld, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { type AgentContext, recordAgent } from '../../src/record/index.ts';
import { forkRun, replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

const SALT = 'create-env-salt';
let store: Store;
let simulator: Awaited<ReturnType<typeof startSimulatorServer>>;
let runId = '';

beforeAll(async () => {
  simulator = await startSimulatorServer({ port: 0, seed: 'create-env' });
  store = createMemoryStore();
  const world = createDemoWorld({ runs: 2, endAt: Date.UTC(2026, 10, 20) });
  const scheduled = world.tickets[0];
  if (!scheduled) throw new Error('no ticket');
  const recording = await recordAgent(supportAgent, {
    store,
    redactionSalt: SALT,
    env: { RETRIAL_MODEL_BASE_URL: `${simulator.url}/v1` },
    services: createAccountSystem([scheduled.account]),
  });
  runId = (await recording.handle(scheduled.ticket)).runId;
  await recording.flush();
});
afterAll(async () => simulator.close());

/** The demo agent, noting the env its create() was given. */
function probingAgent(seen: Array<AgentContext['env']>) {
  const create = (context: Parameters<typeof supportAgent.create>[0]) => {
    seen.push(context.env);
    return supportAgent.create(context);
  };
  return { ...supportAgent, create } as never;
}

describe('replay and fork hand create() the environment it runs with (the model comes from the tape, so its base URL does not matter)', () => {
  it('replay: process.env by default, the env option when given; both reproduce', async () => {
    const seen: Array<AgentContext['env']> = [];
    const byDefault = await replayRun({ store, runId, agent: probingAgent(seen), redactionSalt: SALT });
    expect(byDefault.divergences).toEqual([]);
    expect(seen[0]).toBe(process.env);

    const given = { RETRIAL_MODEL_BASE_URL: 'http://127.0.0.1:9/v1', RETRIAL_SIM_API_KEY: 'sk-laptop' };
    const withEnv = await replayRun({ store, runId, agent: probingAgent(seen), redactionSalt: SALT, env: given });
    expect(withEnv.divergences).toEqual([]);
    expect(seen[1]).toBe(given);
  });

  it('fork: process.env by default, the env option when given', async () => {
    const atSeq = (await loadTape(store, runId)).events.find((event) => event.kind === 'model')?.seq ?? -1;
    const seen: Array<AgentContext['env']> = [];
    const fork = (childRunId: string, env?: Record<string, string>) =>
      forkRun({
        store,
        runId,
        atSeq,
        agent: probingAgent(seen),
        redactionSalt: SALT,
        overrides: {},
        reads: 'frozen',
        endpoint: { baseUrl: `${simulator.url}/v1`, apiKey: 'sim' },
        childRunId,
        ...(env ? { env } : {}),
      });
    expect((await fork('run_fork_default')).error).toBeNull();
    expect(seen[0]).toBe(process.env);
    const given = { RETRIAL_MODEL_BASE_URL: 'http://127.0.0.1:9/v1' };
    expect((await fork('run_fork_env', given)).error).toBeNull();
    expect(seen[1]).toBe(given);
  });
});
