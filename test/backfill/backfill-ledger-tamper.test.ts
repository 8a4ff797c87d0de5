import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRemediation,
  applyTriage,
  type Correction,
  campaignEndpoints,
  parseTriagePolicy,
  planCampaign,
  planRemediation,
  runCampaign,
} from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch } from '../../src/demo/index.ts';
import { type VerifyProblem, verifyLedger, verifyStore } from '../../src/store/index.ts';
import { type RecordedStore, recordHistoryIntoTempStore } from './recorded-history.ts';

/**
 * The reviewer's attack, end to end on a recorded history: ledger rows changed with plain SQL
 * before a plan are left out of it (`ledger-mismatch`, counted and named), and a ledger row or a
 * planned correction changed after the plan never reaches the remediation handler.
 */
let recorded: RecordedStore;
const TYPE = 'refund.category';

beforeAll(async () => {
  recorded = await recordHistoryIntoTempStore({ runs: 300, seed: 'ledger-tamper', redactionSalt: 's' });
}, 180_000);

afterAll(async () => recorded?.dispose());

/** A second connection to the file, as anyone with access to it would have. */
function tamper(sql: string, ...parameters: unknown[]): void {
  const database = new Database(recorded.path);
  try {
    database.prepare(sql).run(...parameters);
  } finally {
    database.close();
  }
}

describe('backfill and remediation act only on decisions the chain vouches for', () => {
  it('plans without the tampered decisions, and the handler never receives a correction the chain does not vouch for', async () => {
    const { store, history } = recorded;
    const window = { since: history.world.startAt, until: history.world.endAt + 1 };
    const tampered = (await store.listDecisions({ type: TYPE, ...window })).slice(0, 3).map((decision) => decision.decisionId);
    for (const decisionId of tampered) tamper("UPDATE decisions SET subject = 'C-ATTACKER', amount = 99.99 WHERE decision_id = ?", decisionId);

    const planned = await planCampaign({
      store,
      decisionType: TYPE,
      ...window,
      candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
      noiseFloor: 0,
      actor: 'alice',
      now: Date.now(),
    });
    expect(planned.plan.excluded).toContainEqual(expect.objectContaining({ reason: 'ledger-mismatch', count: 3, examples: tampered }));
    const items = await store.campaigns.items(planned.campaignId);
    expect(items.some((item) => tampered.includes(item.itemId))).toBe(false);
    expect(JSON.stringify(items)).not.toContain('C-ATTACKER');

    const simulator = { baseUrl: 'http://sim.test/v1', fetch: createSimulatorFetch(createSimulatedModel({ seed: 'ledger-tamper-backfill' })) };
    await runCampaign({ store, campaignId: planned.campaignId, endpointFor: campaignEndpoints(planned.plan, { simulator }), actor: 'alice' });
    await applyTriage({
      store,
      campaignId: planned.campaignId,
      policy: parseTriagePolicy('version: 1\ndefault: correct\nrules: []\n', 'all.yaml'),
      actor: 'alice',
      now: Date.now(),
    });
    const corrections = await planRemediation({ store, campaignId: planned.campaignId, actor: 'alice', now: Date.now() });
    expect(corrections.length).toBeGreaterThanOrEqual(3);

    // After the plan: one decision's ledger row, and another's planned correction, changed.
    const [rowChanged, correctionChanged] = corrections as unknown as [Correction, Correction];
    tamper("UPDATE decisions SET subject = 'C-ATTACKER' WHERE decision_id = ?", rowChanged.decisionId);
    tamper(
      "UPDATE corrections SET correction_json = json_set(correction_json, '$.subject', 'C-ATTACKER', '$.amount', 99.99) WHERE idempotency_key = ?",
      correctionChanged.idempotencyKey,
    );

    const handed: Correction[] = [];
    const outcome = await applyRemediation({
      store,
      campaignId: planned.campaignId,
      handler: (correction) => void handed.push(correction),
      actor: 'alice',
      now: Date.now,
    });
    expect(handed.map((correction) => correction.subject)).not.toContain('C-ATTACKER');
    expect(handed.map((correction) => correction.decisionId)).not.toEqual(expect.arrayContaining([rowChanged.decisionId]));
    expect(handed.map((correction) => correction.decisionId)).not.toEqual(expect.arrayContaining([correctionChanged.decisionId]));
    expect(outcome.applied).toBe(corrections.length - 2);
    expect(outcome.excluded.map((excluded) => excluded.decisionId).sort()).toEqual([rowChanged.decisionId, correctionChanged.decisionId].sort());
    for (const excluded of outcome.excluded) expect(excluded.reason).toMatch(/^ledger-mismatch: /);
    expect(outcome.excluded.find((excluded) => excluded.decisionId === correctionChanged.decisionId)?.reason).toMatch(
      /subject, amount differ from decision event/,
    );
    // Left to an apply after the store is repaired: the same keys, retried then.
    const after = await planRemediation({ store, campaignId: planned.campaignId, actor: 'alice', now: Date.now() });
    expect(
      after
        .filter((entry) => entry.status === 'failed')
        .map((entry) => entry.decisionId)
        .sort(),
    ).toEqual([rowChanged.decisionId, correctionChanged.decisionId].sort());

    // Verify names exactly the changed ledger rows; the corrections that were applied are vouched for by the audit log.
    const found: Array<VerifyProblem & { runId: string | null }> = [];
    for await (const verification of verifyStore(store)) for (const problem of verification.problems) found.push({ ...problem, runId: verification.runId });
    found.push(...(await verifyLedger(store)).problems);
    expect(new Set(found.map((problem) => problem.decisionId))).toEqual(new Set([...tampered, rowChanged.decisionId]));
    expect(found.every((problem) => problem.code === 'LEDGER_MISMATCH')).toBe(true);
    expect((await store.listDecisions({ type: TYPE, includeSuperseded: true })).filter((decision) => decision.supersedes !== null)).toHaveLength(
      outcome.applied,
    );
  }, 180_000);
});
