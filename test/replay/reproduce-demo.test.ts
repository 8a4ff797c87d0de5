import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, type RecordedHistory, recordDemoHistory, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';

const SALT = 'replay-test-salt';
let store: Store;
let history: RecordedHistory;
let closeSimulator: () => Promise<void>;

beforeAll(async () => {
  const simulator = await startSimulatorServer({ port: 0, seed: 'replay-test' });
  closeSimulator = simulator.close;
  store = createMemoryStore();
  history = await recordDemoHistory({ store, modelBaseUrl: `${simulator.url}/v1`, runs: 40, redactionSalt: SALT, concurrency: 8 });
}, 60_000);
afterAll(async () => closeSimulator());

describe('reproduce: demo runs replay exactly from their tapes', () => {
  it('replays every run kind (refund, account, general; streamed and not) with no divergence and no tool executed', async () => {
    const accounts = createAccountSystem();
    const kinds = new Set<string>();
    for (const [index, runId] of history.runIds.entries()) {
      const ticket = history.world.tickets[index]?.ticket;
      kinds.add(`${ticket?.category}/${ticket?.channel}`);
      const result = await replayRun({ store, runId, agent: supportAgent as never, redactionSalt: SALT, services: accounts });
      expect(result.divergences, runId).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.served).toBeGreaterThan(5);
    }
    expect(kinds).toEqual(new Set(['refund/chat', 'refund/email', 'account/chat', 'account/email', 'general/chat', 'general/email']));
    expect(accounts.writes).toEqual({});
  });

  it('replays the incident, close_account included, without closing anything', async () => {
    const accounts = createAccountSystem();
    const result = await replayRun({ store, runId: history.incidentRunId, agent: supportAgent as never, redactionSalt: SALT, services: accounts });
    expect(result.ok).toBe(true);
    expect(accounts.writes).toEqual({});
  });

  it('makes no network request: a replay runs with the model endpoint gone', async () => {
    await closeSimulator();
    const result = await replayRun({ store, runId: history.runIds[3] as string, agent: supportAgent as never, redactionSalt: SALT });
    expect(result.ok).toBe(true);
    closeSimulator = async () => {};
  });
});
