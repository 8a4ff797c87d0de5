import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountSystem, type RecordedHistory, recordDemoHistory, startSimulatorServer, supportAgent } from '../../src/demo/index.ts';
import { createReplayer, replayRun } from '../../src/replay/index.ts';
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

  it('one replayer creates the agent once and replays run after run exactly, also several at once', async () => {
    let created = 0;
    const counted = {
      ...supportAgent,
      create: (context: Parameters<typeof supportAgent.create>[0]) => {
        created++;
        return supportAgent.create(context);
      },
    };
    const accounts = createAccountSystem();
    const replayer = createReplayer({ store, agent: counted as never, redactionSalt: SALT, services: accounts });
    const runIds = history.runIds.slice(0, 12);
    for (const runId of runIds) expect((await replayer.replay(runId)).divergences, runId).toEqual([]);
    // Concurrent replays share the agent instance but not their ledgers, clocks or causal keys.
    const together = await Promise.all(runIds.map((runId) => replayer.replay(runId)));
    expect(together.map((result) => [result.runId, result.ok])).toEqual(runIds.map((runId) => [runId, true]));
    expect(together.map((result) => result.served)).toEqual(
      await Promise.all(runIds.map(async (runId) => (await replayRun({ store, runId, agent: supportAgent as never, redactionSalt: SALT })).served)),
    );
    expect(created).toBe(1);
    expect(accounts.writes).toEqual({});
  });

  it('an agent that carries state from one input to the next diverges in a replayer instead of passing', async () => {
    // The handler numbers the tickets it has seen and tells the model: harmless in one replay,
    // different from the recording from the second replay of a shared instance on.
    const stateful = {
      ...supportAgent,
      create(context: Parameters<typeof supportAgent.create>[0]) {
        const handle = supportAgent.create(context);
        let seen = 0;
        return (ticket: { message: string }) => handle({ ...ticket, message: seen++ === 0 ? ticket.message : `${ticket.message} (ticket ${seen})` } as never);
      },
    };
    const replayer = createReplayer({ store, agent: stateful as never, redactionSalt: SALT });
    const [first, second] = [await replayer.replay(history.runIds[0] as string), await replayer.replay(history.runIds[1] as string)];
    expect(first.ok).toBe(true);
    expect(second.ok).toBe(false);
    expect(second.divergences[0]?.code).toBe('PAYLOAD_MISMATCH');
  });

  it('makes no network request: a replay runs with the model endpoint gone', async () => {
    await closeSimulator();
    const result = await replayRun({ store, runId: history.runIds[3] as string, agent: supportAgent as never, redactionSalt: SALT });
    expect(result.ok).toBe(true);
    closeSimulator = async () => {};
  });
});
