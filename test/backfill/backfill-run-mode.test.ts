import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignEndpoints, compareCampaign, createForkDecider, loadCampaign, planCampaign, runCampaign } from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch, type RecordedHistory, supportAgent } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import type { SqliteStore } from '../../src/store/index.ts';
import { type RecordedStore, recordHistoryIntoTempStore } from './recorded-history.ts';

/**
 * `--redecide run`: each decision is re-decided by forking its whole run with the agent's own
 * code, so the candidate takes every step, not only the last. Reads come from the tape, writes
 * are stubbed, and the forked runs stay in the store with their lineage.
 */
const SALT = 'run-mode-salt';
let store: SqliteStore;
let history: RecordedHistory;
const AGENT_MODULE = 'src/demo/support-agent.ts';

let recorded: RecordedStore;

beforeAll(async () => {
  recorded = await recordHistoryIntoTempStore({ runs: 120, seed: 'run-mode', redactionSalt: SALT });
  ({ store, history } = recorded);
}, 120_000);

afterAll(async () => recorded?.dispose());

describe('backfill re-deciding whole runs (fork mode)', () => {
  it('needs the agent module', async () => {
    await expect(
      planCampaign({
        store,
        decisionType: 'refund.category',
        since: 0,
        until: Date.now(),
        candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
        redecide: 'run',
        actor: 't',
        now: 1,
      }),
    ).rejects.toThrow(/--agent/);
  });

  it('forks each selected run with the candidate, reads from the tape, writes stubbed, and takes the child’s decision', async () => {
    const planned = await planCampaign({
      store,
      decisionType: 'refund.category',
      since: history.world.startAt,
      until: history.world.endAt + 1,
      candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
      redecide: 'run',
      agentModule: AGENT_MODULE,
      sample: 12,
      noiseFloor: 4,
      actor: 't',
      now: Date.now(),
    });
    expect(planned.plan).toMatchObject({ redecide: 'run', agentModule: AGENT_MODULE, selected: 12, noiseFloor: 4 });
    const runsBefore = await store.countRuns();
    const simulator = { baseUrl: 'http://sim.test/v1', fetch: createSimulatorFetch(createSimulatedModel({ seed: 'run-mode-backfill' })) };
    const summary = await runCampaign({
      store,
      campaignId: planned.campaignId,
      endpointFor: campaignEndpoints(planned.plan, { simulator }),
      decideByFork: createForkDecider({
        store,
        campaignId: planned.campaignId,
        plan: planned.plan,
        agent: supportAgent as never,
        redactionSalt: SALT,
        endpointFor: () => ({ ...simulator, apiKey: 'sim' }),
      }),
      actor: 't',
    });
    expect(summary).toMatchObject({ total: 16, written: 16, pending: 0 });

    const campaign = await loadCampaign(store, planned.campaignId);
    const children = campaign.results.map((result) => {
      if ('error' in result.result) throw new Error(`item ${result.itemId} failed: ${result.result.error}`);
      return { result: { ...result, result: result.result }, childRunId: /\(forked run (\S+)\)/.exec(result.result.tool)?.[1] as string };
    });
    expect(await store.countRuns()).toBe(runsBefore + 16);
    for (const { result, childRunId } of children) {
      const child = await loadTape(store, childRunId);
      const item = campaign.items.find((entry) => entry.itemId === result.itemId)?.item;
      expect(child.run.header.fork).toMatchObject({ fromRun: item?.runId, atSeq: item?.firstModelSeq });
      // Every write tool in the child was stubbed; every model call went to the arm's model.
      for (const event of child.events) {
        if (event.kind === 'tool' && event.effect === 'write') expect(event.stubbed).toBe(true);
        if (event.kind === 'model') expect(event.request.model).toBe(result.result.modelSent);
      }
      const decided = child.events.filter((event) => event.kind === 'decision' && event.type === 'refund.category');
      expect(result.result.value).toBe(decided.length ? (decided.at(-1) as { value: string }).value : 'none');
    }
    // Forked runs keep their decisions out of the ledger: the backfill changed no shipped decision.
    expect((await store.listDecisions({ type: 'refund.category' })).filter((decision) => decision.runId.includes('_bf'))).toEqual([]);
    const comparison = compareCampaign(campaign);
    expect(comparison.flipRate.trials).toBe(12);
    expect(comparison.noiseFloor.trials).toBe(4);
  });
});
