import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRemediation,
  applyTriage,
  campaignEndpoints,
  compareCampaign,
  loadCampaign,
  parseTriagePolicy,
  planCampaign,
  planRemediation,
  recordVerdict,
  runCampaign,
  verifyAuditChain,
} from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch, type RecordedHistory } from '../../src/demo/index.ts';
import { openSqliteStore, type SqliteStore, StoreError } from '../../src/store/index.ts';
import { type RecordedStore, recordHistoryIntoTempStore } from './recorded-history.ts';

/** Remediation must not act on what people have since said no to, and must not correct a decision twice. */
let store: SqliteStore;
let history: RecordedHistory;

let recorded: RecordedStore;

beforeAll(async () => {
  recorded = await recordHistoryIntoTempStore({ runs: 300, seed: 'remediation-safety', redactionSalt: 's' });
  ({ store, history } = recorded);
}, 120_000);

afterAll(async () => recorded?.dispose());

async function campaign(on: { store: SqliteStore; history: RecordedHistory } = { store, history }) {
  const planned = await planCampaign({
    store: on.store,
    decisionType: 'refund.category',
    since: on.history.world.startAt,
    until: on.history.world.endAt + 1,
    candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
    noiseFloor: 0,
    actor: 'alice',
    now: Date.now(),
  });
  const simulator = { baseUrl: 'http://sim.test/v1', fetch: createSimulatorFetch(createSimulatedModel({ seed: 'remediation-safety-backfill' })) };
  await runCampaign({ store: on.store, campaignId: planned.campaignId, endpointFor: campaignEndpoints(planned.plan, { simulator }), actor: 'alice' });
  return planned;
}

describe('remediation safety', () => {
  it('a correction a reviewer rejected after the plan is cancelled, not applied; an applied decision is never corrected twice', async () => {
    const first = await campaign();
    const { flips } = compareCampaign(await loadCampaign(store, first.campaignId));
    expect(flips.length).toBeGreaterThanOrEqual(2);
    await applyTriage({
      store,
      campaignId: first.campaignId,
      policy: parseTriagePolicy('version: 1\ndefault: correct\nrules: []\n', 'all.yaml'),
      actor: 'alice',
      now: Date.now(),
    });
    const plan = await planRemediation({ store, campaignId: first.campaignId, actor: 'alice', now: Date.now() });
    expect(plan.map((entry) => entry.decisionId).sort()).toEqual(flips.map((flip) => flip.itemId).sort());

    // A second campaign over the same window, planned before the first applies anything, wants the same corrections.
    const rival = await campaign();
    await applyTriage({
      store,
      campaignId: rival.campaignId,
      policy: parseTriagePolicy('version: 1\ndefault: correct\nrules: []\n', 'all.yaml'),
      actor: 'carol',
      now: Date.now(),
    });
    const rivalPlan = await planRemediation({ store, campaignId: rival.campaignId, actor: 'carol', now: Date.now() });
    expect(rivalPlan.length).toBeGreaterThan(0);

    const rejected = plan[0]?.decisionId as string;
    await recordVerdict({
      store,
      campaignId: first.campaignId,
      itemId: rejected,
      verdict: 'incumbent-right',
      reviewer: 'bob',
      note: 'the refund was right',
      now: Date.now(),
    });
    const handled: string[] = [];
    const outcome = await applyRemediation({
      store,
      campaignId: first.campaignId,
      handler: (correction) => handled.push(correction.decisionId),
      actor: 'alice',
      now: Date.now,
    });
    expect(handled).not.toContain(rejected);
    expect(handled).toHaveLength(plan.length - 1);
    expect(outcome).toMatchObject({ applied: plan.length - 1, failed: 0 });
    const cancelled = (await store.campaigns.corrections(first.campaignId)).find((record) => record.itemId === rejected);
    expect(cancelled?.status).toBe('cancelled');
    expect((await store.campaigns.audit({ campaignId: first.campaignId })).map((entry) => entry.action)).toContain('correction.cancelled');

    // The rival campaign's plan came too late: what the first corrected is cancelled before its handler is called.
    const rivalHandled: string[] = [];
    const rivalOutcome = await applyRemediation({
      store,
      campaignId: rival.campaignId,
      handler: (correction) => rivalHandled.push(correction.decisionId),
      actor: 'carol',
      now: Date.now,
    });
    expect(rivalHandled.filter((decisionId) => handled.includes(decisionId))).toEqual([]);
    expect(rivalOutcome.applied).toBe(rivalHandled.length);
    const rivalRecords = await store.campaigns.corrections(rival.campaignId);
    for (const decisionId of handled) expect(rivalRecords.find((record) => record.itemId === decisionId)?.status).toBe('cancelled');

    // A later campaign over the same window does not re-judge what was corrected: those decisions are superseded.
    const second = await campaign();
    const superseded = second.plan.excluded.find((entry) => entry.reason === 'superseded');
    const correctedNow = (await store.listDecisions({ type: 'refund.category' })).filter((decision) => decision.supersedes !== null).length;
    expect(superseded?.count).toBe(correctedNow);
    expect(second.plan.selected).toBe(first.plan.selected - correctedNow);

    // And the store itself refuses a second correction of the same decision.
    const applied = (await store.listDecisions({ type: 'refund.category' })).find((decision) => decision.supersedes !== null);
    if (!applied) throw new Error('no superseding decision');
    const key = (await store.campaigns.corrections(first.campaignId)).find((record) => record.itemId === rejected)?.idempotencyKey as string;
    const entry = { at: Date.now(), actor: 'alice', action: 'correction.applied', campaignId: first.campaignId, details: { idempotencyKey: key } };
    await expect(store.campaigns.recordApplied(key, Date.now(), 1, { ...applied, decisionId: `${applied.supersedes}/another` }, entry)).rejects.toBeInstanceOf(
      StoreError,
    );
    expect(verifyAuditChain(await store.campaigns.audit())).toEqual([]);
  });

  it('two applies at the same moment, from two connections, call the handler once per decision', async () => {
    // A history of its own: the test above corrected what this one needs uncorrected.
    const fresh = await recordHistoryIntoTempStore({ runs: 300, seed: 'remediation-safety', redactionSalt: 's' });
    const { store } = fresh;
    const triageAll = parseTriagePolicy('version: 1\ndefault: correct\nrules: []\n', 'all.yaml');
    const planned = [];
    for (const actor of ['dana', 'erin']) {
      const each = await campaign(fresh);
      await applyTriage({ store, campaignId: each.campaignId, policy: triageAll, actor, now: Date.now() });
      planned.push({ campaignId: each.campaignId, plan: await planRemediation({ store, campaignId: each.campaignId, actor, now: Date.now() }) });
    }
    const [one, two] = planned as [(typeof planned)[0], (typeof planned)[0]];
    const shared = one.plan.map((entry) => entry.decisionId).filter((decisionId) => two.plan.some((entry) => entry.decisionId === decisionId));
    expect(shared.length).toBeGreaterThan(0);

    // A second connection is, to SQLite, another process. The handler yields, as a call to a payments API would.
    const other = await openSqliteStore(fresh.path);
    try {
      const paid: string[] = [];
      const slowHandler = async (correction: { decisionId: string }) => {
        paid.push(correction.decisionId);
        await new Promise((resolve) => setTimeout(resolve, 5));
      };
      const apply = (on: SqliteStore, campaignId: string) => applyRemediation({ store: on, campaignId, handler: slowHandler, actor: 'ops', now: Date.now });
      const outcomes = await Promise.all([apply(store, one.campaignId), apply(other, two.campaignId), apply(other, one.campaignId)]);
      expect(paid.length).toBe(new Set(paid).size);
      const corrected = (await store.listDecisions({ type: 'refund.category' })).filter((decision) => decision.supersedes !== null);
      for (const decisionId of paid) expect(corrected.filter((decision) => decision.supersedes === decisionId)).toHaveLength(1);
      const leftAlone = outcomes.reduce((sum, outcome) => sum + outcome.claimedElsewhere + outcome.cancelled, 0);
      expect(leftAlone).toBeGreaterThan(0);

      // Once the others are done, applying again finishes what was left alone and pays nothing twice.
      for (const campaignId of [one.campaignId, two.campaignId]) await apply(store, campaignId);
      expect(paid.length).toBe(new Set(paid).size);
      const wanted = new Set([...one.plan, ...two.plan].map((entry) => entry.decisionId));
      for (const decisionId of wanted) expect(paid).toContain(decisionId);
    } finally {
      await other.close();
      await fresh.dispose();
    }
  }, 120_000);
});
