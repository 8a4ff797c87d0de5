import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  applyRemediation,
  applyTriage,
  type Correction,
  campaignEndpoints,
  compareCampaign,
  EXCLUSION_REASONS,
  loadCampaign,
  type PlanCampaignOptions,
  type PlannedCampaign,
  parseTriagePolicy,
  planCampaign,
  planRemediation,
  type RunCampaignOptions,
  recordVerdict,
  reviewQueue,
  runCampaign,
  verifyAuditChain,
} from '../../src/backfill/index.ts';
import {
  CANDIDATE_VERSION_ID,
  createSimulatedModel,
  createSimulatorFetch,
  INCUMBENT_VERSION_ID,
  type RecordedHistory,
  recordDemoHistory,
  startSimulatorServer,
} from '../../src/demo/index.ts';
import { type LoadedTape, loadTape } from '../../src/inspect/index.ts';
import { createRecorder } from '../../src/record/index.ts';
import { type DecisionRecord, openSqliteStore, type SqliteStore } from '../../src/store/index.ts';
import { canonicalJson } from '../../src/tape/index.ts';

/**
 * The backfill pipeline end to end on one recorded demo history in a real SQLite file: plan,
 * run (point-in-time inputs, no side effects, resume, dead endpoint), compare, triage, review,
 * remediation, and the audit chain over all of it. Tests run in order and share the store.
 */

const DAY = 86_400_000;
const END_AT = Date.UTC(2026, 10, 20);
const TYPE = 'refund.category';
const SIM_BASE = 'http://sim.test/v1';
const CANDIDATE = { provider: 'sim' as const, model: CANDIDATE_VERSION_ID };

const directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-'));
const dbPath = join(directory, 'history.db');
let store: SqliteStore;
let history: RecordedHistory;
let since = 0;
let until = 0;

beforeAll(async () => {
  store = await openSqliteStore(dbPath);
  const simulator = await startSimulatorServer({ port: 0, seed: 'retrial-demo-history-38' });
  try {
    history = await recordDemoHistory({ store, modelBaseUrl: `${simulator.url}/v1`, runs: 300, endAt: END_AT, redactionSalt: 'backfill-pipeline' });
  } finally {
    await simulator.close();
  }
  expect(history.failedRuns).toBe(0);
  since = history.world.startAt;
  until = history.world.endAt + DAY;
}, 120_000);

afterAll(async () => {
  await store?.close();
  rmSync(directory, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers

interface CapturedRequest {
  url: string;
  body: string;
}

/** Wraps a fetch and keeps every request it is given. */
function capturing(inner: typeof fetch): { fetch: typeof fetch; calls: CapturedRequest[] } {
  const calls: CapturedRequest[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    calls.push({ url: input instanceof Request ? input.url : String(input), body: String(init?.body) });
    return inner(input, init);
  };
  return { fetch: wrapped, calls };
}

/** A fresh in-process simulator: same seed, same answers to the same requests. */
function simulatorFetch(seed: string): typeof fetch {
  return createSimulatorFetch(createSimulatedModel({ seed }));
}

function plan(options: Partial<PlanCampaignOptions> = {}): Promise<PlannedCampaign> {
  return planCampaign({ store, decisionType: TYPE, since, until, candidate: CANDIDATE, actor: 'tester', now: END_AT, ...options });
}

function run(planned: PlannedCampaign, fetchImpl: typeof fetch | undefined, options: Partial<RunCampaignOptions> & { baseUrl?: string } = {}) {
  const { baseUrl = SIM_BASE, ...rest } = options;
  return runCampaign({
    store,
    campaignId: planned.campaignId,
    endpointFor: campaignEndpoints(planned.plan, { simulator: { baseUrl, fetch: fetchImpl }, retries: 0 }),
    actor: 'tester',
    concurrency: 8,
    ...rest,
  });
}

const armKey = (itemId: string, arm: string) => `${itemId}\n${arm}`;

/** Every (item, arm) the campaign planned. */
async function plannedArms(campaignId: string): Promise<string[]> {
  const { items } = await loadCampaign(store, campaignId);
  return items.flatMap((entry) => entry.arms.map((arm) => armKey(entry.itemId, arm))).sort();
}

/** (item, arm) -> the decided value (or the error). */
async function valuesOf(campaignId: string): Promise<Map<string, string>> {
  const { results } = await loadCampaign(store, campaignId);
  return new Map(results.map((row) => [armKey(row.itemId, row.arm), 'error' in row.result ? `error: ${row.result.error}` : row.result.value]));
}

function withoutModel(text: string): unknown {
  const { model: _model, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return rest;
}

function refundDecisionsInWindow(decisions: readonly DecisionRecord[]): DecisionRecord[] {
  return decisions.filter((decision) => decision.type === TYPE && decision.effectiveAt >= since && decision.effectiveAt < until);
}

function auditDb<T>(body: (db: Database.Database) => T): T {
  const db = new Database(dbPath);
  try {
    return body(db);
  } finally {
    db.close();
  }
}

// State the later tests build on.
let main: PlannedCampaign;
let remediationCampaign: PlannedCampaign;

describe('backfill pipeline on a recorded demo history (SQLite)', () => {
  it('1. plan: population, exclusions with reasons, inferred mapping, chunks, noise floor and a stratified sample', async () => {
    const population = refundDecisionsInWindow(await store.listDecisions({ includeSuperseded: true }));
    expect(population.length).toBeGreaterThan(50);
    const populationIds = new Set(population.map((decision) => decision.decisionId));
    // Tickets whose message carries an e-mail address: the recorder redacted it, so the request cannot be sent again.
    const messages = new Map(history.world.tickets.map((scheduled) => [scheduled.ticket.ticketId, scheduled.ticket.message]));
    const withEmail = population.filter((decision) => /@/.test(messages.get(decision.attributes.ticket ?? '') ?? ''));
    expect(withEmail.length).toBeGreaterThan(0);

    const planned = await plan({ chunkSize: 16, noiseFloor: 25 });
    const { plan: p } = planned;
    expect(p.population).toBe(population.length);
    expect(p.eligible + p.excluded.reduce((sum, entry) => sum + entry.count, 0)).toBe(p.population);
    for (const entry of p.excluded) {
      expect(Object.keys(EXCLUSION_REASONS)).toContain(entry.reason);
      expect(entry.description).toBe(EXCLUSION_REASONS[entry.reason as keyof typeof EXCLUSION_REASONS]);
      expect(entry.examples.length).toBe(Math.min(3, entry.count));
      for (const example of entry.examples) expect(populationIds.has(example)).toBe(true);
    }
    const redacted = p.excluded.find((entry) => entry.reason === 'redacted-input');
    expect(redacted?.count).toBe(withEmail.length);
    const withEmailIds = new Set(withEmail.map((decision) => decision.decisionId));
    for (const example of redacted?.examples ?? []) expect(withEmailIds.has(example)).toBe(true);
    expect(p.mapping).toEqual({ issue_refund: 'approve', deny_refund: 'deny', escalate_to_human: 'escalate' });

    // Every eligible decision is selected (no sample), none of the redacted ones.
    expect(p.sample).toBeNull();
    expect(p.selected).toBe(p.eligible);
    const items = await store.campaigns.items(planned.campaignId);
    expect(items).toHaveLength(p.selected);
    for (const record of items) {
      expect(populationIds.has(record.itemId)).toBe(true);
      expect(withEmailIds.has(record.itemId)).toBe(false);
    }

    // Chunks of 16 in effective-time order, numbered 0..chunks-1, only the last one short.
    expect(p.chunkSize).toBe(16);
    expect(p.chunks).toBe(Math.ceil(p.selected / 16));
    const byChunk = new Map<number, number[]>();
    for (const record of items) byChunk.set(record.chunk, [...(byChunk.get(record.chunk) ?? []), (record.item as { effectiveAt: number }).effectiveAt]);
    expect([...byChunk.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: p.chunks }, (_, index) => index));
    for (const [chunk, times] of byChunk) {
      expect(times.length).toBe(chunk === p.chunks - 1 ? p.selected - 16 * (p.chunks - 1) : 16);
      const next = byChunk.get(chunk + 1);
      if (next) expect(Math.max(...times)).toBeLessThanOrEqual(Math.min(...next));
    }

    // The noise-floor sample: exactly 25 items also go to the incumbent.
    expect(p.noiseFloor).toBe(25);
    expect(items.filter((record) => record.arms.includes('incumbent'))).toHaveLength(25);
    expect(items.every((record) => record.arms[0] === 'candidate')).toBe(true);
    expect(p.estimate.requests).toBe(p.selected + 25);
    // A noise floor larger than the selection is capped at it.
    expect((await plan({ noiseFloor: 100_000 })).plan.noiseFloor).toBe(p.selected);

    // A sample stratified by value keeps each value's share within one decision of proportional.
    const eligibleByValue = new Map<string, number>();
    for (const record of items) {
      const value = (record.item as { value: string }).value;
      eligibleByValue.set(value, (eligibleByValue.get(value) ?? 0) + 1);
    }
    expect(eligibleByValue.size).toBeGreaterThanOrEqual(3);
    const sampled = await plan({ sample: 30, stratifyBy: 'value', seed: 'stratified' });
    expect(sampled.plan.selected).toBe(30);
    expect(sampled.plan.sample).toEqual({ size: 30, stratifyBy: 'value', seed: 'stratified' });
    const sampledItems = await store.campaigns.items(sampled.campaignId);
    expect(sampledItems).toHaveLength(30);
    const sampledByValue = new Map<string, number>();
    for (const record of sampledItems) {
      const value = (record.item as { value: string }).value;
      sampledByValue.set(value, (sampledByValue.get(value) ?? 0) + 1);
    }
    for (const [value, count] of eligibleByValue) {
      const proportional = (30 * count) / p.eligible;
      expect(Math.abs((sampledByValue.get(value) ?? 0) - proportional)).toBeLessThanOrEqual(1);
    }
    // The same seed draws the same sample.
    const again = await plan({ sample: 30, stratifyBy: 'value', seed: 'stratified' });
    expect((await store.campaigns.items(again.campaignId)).map((record) => record.itemId)).toEqual(sampledItems.map((record) => record.itemId));
  });

  it('2. a campaign with nothing eligible says why: unknown type, and decisions with no decision step', async () => {
    const unknown = await plan({ decisionType: 'no.such.type' });
    expect(unknown.plan).toMatchObject({ population: 0, eligible: 0, selected: 0, excluded: [], chunks: 0 });

    // Decisions made by code without asking a model: the recorder gives them basedOnSeq null.
    const rec = createRecorder({ store, agent: 'ops-console', redaction: { salt: 'ops' } });
    const manualRunIds = ['run_manual_override_1', 'run_manual_override_2'];
    for (const [index, runId] of manualRunIds.entries()) {
      await rec.run(
        { customerId: `C-9000${index}` },
        async (input: { customerId: string }) => {
          rec.decide({ type: 'refund.manual', subject: input.customerId, value: 'approve', amount: 19, currency: 'USD', reversible: false });
          return 'ok';
        },
        { runId, startAt: since + (10 + index) * DAY },
      );
    }
    await rec.flush();
    const manual = await store.listDecisions({ type: 'refund.manual' });
    expect(manual).toHaveLength(2);

    const planned = await plan({ decisionType: 'refund.manual' });
    expect(planned.plan.population).toBe(2);
    expect(planned.plan.eligible).toBe(0);
    expect(planned.plan.selected).toBe(0);
    expect(planned.plan.excluded).toEqual([
      {
        reason: 'no-decision-step',
        description: EXCLUSION_REASONS['no-decision-step'],
        count: 2,
        examples: expect.arrayContaining(manual.map((decision) => decision.decisionId)),
      },
    ]);

    const sent = capturing(simulatorFetch('unused'));
    const summary = await run(planned, sent.fetch);
    expect(summary).toMatchObject({ total: 0, alreadyDone: 0, written: 0, pending: 0, stoppedBecause: null });
    expect(sent.calls).toEqual([]);
    expect(await store.campaigns.results(planned.campaignId)).toEqual([]);
  });

  it('3. sends the recorded request of the decision step with only `model` swapped, and the live world does not matter', async () => {
    const SEED = 'point-in-time';
    const first = await plan({ noiseFloor: 20, seed: 'point-in-time-plan' });
    const sent = capturing(simulatorFetch(SEED));
    const summary = await run(first, sent.fetch);
    expect(summary).toMatchObject({ total: first.plan.estimate.requests, written: first.plan.estimate.requests, pending: 0 });
    expect(sent.calls).toHaveLength(first.plan.estimate.requests);

    // The expected bodies, read from the tape independently of the plan: decision event -> basedOnSeq -> model step.
    const tapes = new Map<string, LoadedTape>();
    const expected: { candidate: string[]; incumbent: string[] } = { candidate: [], incumbent: [] };
    const { items } = await loadCampaign(store, first.campaignId);
    for (const { item, arms } of items) {
      const tape = tapes.get(item.runId) ?? (await loadTape(store, item.runId));
      tapes.set(item.runId, tape);
      const decision = tape.events.find((event) => event.seq === item.seq);
      if (decision?.kind !== 'decision' || decision.basedOnSeq === null) throw new Error(`no decision step for ${item.decisionId}`);
      const step = tape.events.find((event) => event.seq === decision.basedOnSeq);
      if (step?.kind !== 'model') throw new Error(`step ${decision.basedOnSeq} of ${item.runId} is not a model step`);
      const recordedText = tape.wireRequestText(step.wire.requestBody);
      expect(JSON.parse(recordedText).model).toBe('support-sim');
      // The recorded request carries the account as it was then (the lookup_account answer).
      expect(recordedText).toContain(item.subject);
      for (const arm of arms) expected[arm].push(canonicalJson(withoutModel(recordedText)));
    }
    const sentBodies: { candidate: string[]; incumbent: string[] } = { candidate: [], incumbent: [] };
    for (const call of sent.calls) {
      const model = JSON.parse(call.body).model;
      expect([CANDIDATE_VERSION_ID, INCUMBENT_VERSION_ID]).toContain(model);
      sentBodies[model === CANDIDATE_VERSION_ID ? 'candidate' : 'incumbent'].push(canonicalJson(withoutModel(call.body)));
    }
    expect(sentBodies.candidate).toHaveLength(items.length);
    expect(sentBodies.incumbent).toHaveLength(20);
    expect(sentBodies.candidate.sort()).toEqual(expected.candidate.sort());
    expect(sentBodies.incumbent.sort()).toEqual(expected.incumbent.sort());

    // Move the world on: every account the agent looked up is now different.
    for (const { account } of history.world.tickets) {
      account.status = 'closed';
      account.plan = 'business';
      account.tenure_months = 0;
      account.prior_refunds_90d += 7;
      account.last_charge = { amount: account.last_charge.amount * 10 + 1, age_days: 365, duplicate: !account.last_charge.duplicate };
      account.balance_due += 500;
    }
    const second = await plan({ noiseFloor: 20, seed: 'point-in-time-plan' });
    const sentAgain = capturing(simulatorFetch(SEED));
    await run(second, sentAgain.fetch);
    const firstValues = await valuesOf(first.campaignId);
    const secondValues = await valuesOf(second.campaignId);
    expect(secondValues.size).toBe(first.plan.estimate.requests);
    expect(secondValues).toEqual(firstValues);
    expect(sentAgain.calls.map((call) => call.body).sort()).toEqual(sent.calls.map((call) => call.body).sort());
  });

  it('4. executes no tool and sends nothing but model requests', async () => {
    const accountsBefore = structuredClone(history.world.tickets.map((scheduled) => scheduled.account));
    const writesBefore = structuredClone(history.writesExecuted);
    const statsBefore = await store.stats();
    const ledgerBefore = await store.listDecisions({ includeSuperseded: true });
    const globalFetch = vi.spyOn(globalThis, 'fetch');
    const sent = capturing(simulatorFetch('no-side-effects'));
    try {
      const planned = await plan({ noiseFloor: 10 });
      const summary = await run(planned, sent.fetch);
      expect(summary.written).toBe(planned.plan.estimate.requests);
      // The candidate did answer with write tools; none of them ran.
      const { results } = await loadCampaign(store, planned.campaignId);
      expect(results.some((row) => 'tool' in row.result && row.result.tool === 'issue_refund')).toBe(true);
    } finally {
      globalFetch.mockRestore();
    }
    expect(globalFetch).not.toHaveBeenCalled();
    expect(sent.calls.length).toBeGreaterThan(0);
    expect(new Set(sent.calls.map((call) => call.url))).toEqual(new Set([`${SIM_BASE}/chat/completions`]));
    expect(history.world.tickets.map((scheduled) => scheduled.account)).toEqual(accountsBefore);
    expect(history.writesExecuted).toEqual(writesBefore);
    const statsAfter = await store.stats();
    expect({ runs: statsAfter.runs, events: statsAfter.events, decisions: statsAfter.decisions }).toEqual({
      runs: statsBefore.runs,
      events: statsBefore.events,
      decisions: statsBefore.decisions,
    });
    expect(await store.listDecisions({ includeSuperseded: true })).toEqual(ledgerBefore);
  });

  it('5. resumes: a rerun writes exactly the missing results, one per item and arm', async () => {
    const SEED = 'resume';
    const planned = await plan({ noiseFloor: 30, chunkSize: 16 });
    const firstRun = await run(planned, simulatorFetch(SEED), { now: () => 1_000 });
    const total = planned.plan.estimate.requests;
    expect(firstRun).toMatchObject({ total, alreadyDone: 0, written: total, pending: 0 });
    const before = await loadCampaign(store, planned.campaignId);

    // Lose every seventh result (both arms among them), as if those writes never happened.
    const lost = before.results.filter((_, index) => index % 7 === 0);
    expect(new Set(lost.map((row) => row.arm))).toEqual(new Set(['candidate', 'incumbent']));
    auditDb((db) => {
      const remove = db.prepare('DELETE FROM campaign_results WHERE campaign_id = ? AND item_id = ? AND arm = ?');
      for (const row of lost) expect(remove.run(planned.campaignId, row.itemId, row.arm).changes).toBe(1);
    });

    const sent = capturing(simulatorFetch(SEED));
    const rerun = await run(planned, sent.fetch, { now: () => 2_000 });
    expect(rerun).toMatchObject({ total, alreadyDone: total - lost.length, written: lost.length, pending: 0, stoppedBecause: null });
    expect(sent.calls).toHaveLength(lost.length);

    const after = await loadCampaign(store, planned.campaignId);
    expect(after.results.map((row) => armKey(row.itemId, row.arm)).sort()).toEqual(await plannedArms(planned.campaignId));
    const counts = auditDb(
      (db) =>
        db.prepare('SELECT item_id, arm, COUNT(*) AS n FROM campaign_results WHERE campaign_id = ? GROUP BY item_id, arm').all(planned.campaignId) as Array<{
          n: number;
        }>,
    );
    expect(counts).toHaveLength(total);
    expect(counts.every((row) => row.n === 1)).toBe(true);
    // Kept results were not rewritten; lost ones were written by the rerun, with the same answers (same seed, same inputs).
    const lostKeys = new Set(lost.map((row) => armKey(row.itemId, row.arm)));
    const beforeByKey = new Map(before.results.map((row) => [armKey(row.itemId, row.arm), row]));
    for (const row of after.results) {
      const key = armKey(row.itemId, row.arm);
      expect(row.at).toBe(lostKeys.has(key) ? 2_000 : 1_000);
      expect(row.result).toEqual(beforeByKey.get(key)?.result);
    }
    // A third run has nothing left to do.
    const third = capturing(simulatorFetch(SEED));
    expect(await run(planned, third.fetch)).toMatchObject({ total, alreadyDone: total, written: 0, pending: 0 });
    expect(third.calls).toEqual([]);
  });

  it('5b. an arm whose endpoint fails in a retryable way stays pending, and the rerun finishes only those', async () => {
    const planned = await plan({ noiseFloor: 15 });
    const total = planned.plan.estimate.requests;
    const healthy = simulatorFetch('flaky');
    // The incumbent's version is overloaded: HTTP 503 for every incumbent request.
    const flaky: typeof fetch = async (input, init) =>
      JSON.parse(String(init?.body)).model === INCUMBENT_VERSION_ID
        ? new Response(JSON.stringify({ error: { message: 'overloaded' } }), { status: 503, headers: { 'content-type': 'application/json' } })
        : healthy(input, init);
    const first = await run(planned, flaky, { maxConsecutiveFailures: 10_000 });
    expect(first).toMatchObject({ total, written: total - 15, pending: 15, stoppedBecause: null });
    const { results } = await loadCampaign(store, planned.campaignId);
    expect(results.filter((row) => row.arm === 'incumbent')).toEqual([]);

    const sent = capturing(simulatorFetch('flaky'));
    const rerun = await run(planned, sent.fetch);
    expect(rerun).toMatchObject({ total, alreadyDone: total - 15, written: 15, pending: 0 });
    expect(sent.calls.map((call) => JSON.parse(call.body).model)).toEqual(Array(15).fill(INCUMBENT_VERSION_ID));
    expect((await loadCampaign(store, planned.campaignId)).results.map((row) => armKey(row.itemId, row.arm)).sort()).toEqual(
      await plannedArms(planned.campaignId),
    );
  });

  it('6. a dead endpoint stops the run with pending work and no results; a later run completes it', async () => {
    // A port nothing listens on: connections are refused.
    const deadPort = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const planned = await plan({ noiseFloor: 10 });
    const total = planned.plan.estimate.requests;
    const refused = capturing(globalThis.fetch);
    const dead = await run(planned, refused.fetch, { baseUrl: `http://127.0.0.1:${deadPort}/v1`, concurrency: 4 });
    expect(dead.stoppedBecause).toMatch(/ECONNREFUSED/);
    expect(dead).toMatchObject({ total, alreadyDone: 0, written: 0 });
    expect(dead.pending).toBeGreaterThan(0);
    // It stopped instead of trying every request against a dead endpoint.
    expect(refused.calls.length).toBeLessThan(total);
    expect(await store.campaigns.results(planned.campaignId)).toEqual([]);
    const stopped = (await store.campaigns.audit({ campaignId: planned.campaignId })).filter((entry) => entry.action === 'campaign.run.stopped');
    expect(stopped).toHaveLength(1);

    const revived = await run(planned, simulatorFetch('revived'));
    expect(revived).toMatchObject({ total, alreadyDone: 0, written: total, pending: 0, stoppedBecause: null });
    expect((await loadCampaign(store, planned.campaignId)).results.map((row) => armKey(row.itemId, row.arm)).sort()).toEqual(
      await plannedArms(planned.campaignId),
    );
  });

  it('6b. after a stop, the summary accounts for every arm: alreadyDone + written + pending = total', async () => {
    // Fails today: run-campaign.ts shifts the next chunk off the queue before checking `stoppedBecause`,
    // so each worker that sees the stop drops one unstarted chunk that is then neither run nor counted.
    const planned = await plan({ noiseFloor: 0, chunkSize: 16 });
    const total = planned.plan.estimate.requests;
    expect(planned.plan.chunks).toBeGreaterThan(4);
    const refused: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    };
    const dead = await run(planned, refused, { concurrency: 4 });
    expect(dead.stoppedBecause).toMatch(/ECONNREFUSED/);
    expect(await store.campaigns.results(planned.campaignId)).toEqual([]);
    expect(dead.alreadyDone + dead.written + dead.pending).toBe(total);
    const stopped = (await store.campaigns.audit({ campaignId: planned.campaignId })).find((entry) => entry.action === 'campaign.run.stopped');
    expect(stopped?.details).toMatchObject({ written: 0, pending: total });
  });

  it('7. compare: the flip matrix, flip rate and noise floor count the stored results', async () => {
    main = await plan({ noiseFloor: 40, seed: 'main-plan' });
    expect(await run(main, simulatorFetch('backfill-main'))).toMatchObject({ pending: 0, written: main.plan.estimate.requests });
    const campaign = await loadCampaign(store, main.campaignId);
    const comparison = compareCampaign(campaign);

    const shipped = new Map(campaign.items.map((entry) => [entry.itemId, entry.item.value]));
    const answered = campaign.results.flatMap((row) => ('value' in row.result ? [{ ...row, value: row.result.value }] : []));
    const candidate = answered.filter((row) => row.arm === 'candidate');
    const incumbent = answered.filter((row) => row.arm === 'incumbent');
    expect(candidate).toHaveLength(main.plan.selected);
    expect(incumbent).toHaveLength(40);

    const matrixTotal = Object.values(comparison.flipMatrix.counts).reduce((sum, row) => sum + Object.values(row).reduce((a, b) => a + b, 0), 0);
    expect(matrixTotal).toBe(candidate.length);
    for (const [from, row] of Object.entries(comparison.flipMatrix.counts))
      for (const [to, count] of Object.entries(row))
        expect(count).toBe(candidate.filter((result) => shipped.get(result.itemId) === from && result.value === to).length);

    const flips = candidate.filter((row) => row.value !== shipped.get(row.itemId));
    expect(flips.length).toBeGreaterThan(0);
    expect(comparison.flipRate).toMatchObject({ trials: candidate.length, successes: flips.length });
    expect(comparison.noiseFloor).toMatchObject({
      trials: incumbent.length,
      successes: incumbent.filter((row) => row.value !== shipped.get(row.itemId)).length,
    });
    expect(comparison.adjusted.difference).toBeCloseTo(comparison.flipRate.rate - comparison.noiseFloor.rate, 12);
    expect(comparison.flips.map((flip) => flip.itemId).sort()).toEqual(flips.map((row) => row.itemId).sort());
    expect(comparison.progress).toMatchObject({
      items: main.plan.selected,
      candidateDone: candidate.length,
      incumbentDone: 40,
      incumbentPlanned: 40,
      failed: 0,
    });
  });

  it('8. triage, review and remediation: corrections applied once each, originals kept, failures retried', async () => {
    const policy = parseTriagePolicy(
      ['version: 1', 'default: review', 'rules:', '  - name: deny-to-approve', '    when: { from: deny, to: approve }', '    action: correct', ''].join('\n'),
      'backfill-test-policy.yaml',
    );
    const { flips } = compareCampaign(await loadCampaign(store, main.campaignId));
    const correctIds = flips.filter((flip) => flip.from === 'deny' && flip.to === 'approve').map((flip) => flip.itemId);
    const reviewIds = flips.filter((flip) => !(flip.from === 'deny' && flip.to === 'approve')).map((flip) => flip.itemId);
    expect(correctIds.length).toBeGreaterThan(0);
    expect(reviewIds.length).toBeGreaterThanOrEqual(2);

    const triaged = await applyTriage({ store, campaignId: main.campaignId, policy, actor: 'alice', now: END_AT });
    expect(triaged).toMatchObject({ flips: flips.length, byAction: { correct: correctIds.length, review: reviewIds.length }, policyDigest: policy.digest });
    const stored = await store.campaigns.triage(main.campaignId);
    expect(Object.fromEntries(stored.map((record) => [record.itemId, [record.action, record.rule]]))).toEqual(
      Object.fromEntries([...correctIds.map((id) => [id, ['correct', 'deny-to-approve']]), ...reviewIds.map((id) => [id, ['review', 'default']])]),
    );

    const queue = await reviewQueue(store, main.campaignId);
    expect(queue.triaged).toBe(true);
    expect(queue.waiting.map((flip) => flip.itemId).sort()).toEqual([...reviewIds].sort());
    const [candidateRight, incumbentRight] = queue.waiting.map((flip) => flip.itemId) as [string, string];
    await recordVerdict({
      store,
      campaignId: main.campaignId,
      itemId: candidateRight,
      verdict: 'candidate-right',
      reviewer: 'bob',
      note: 'policy allows it',
      now: END_AT,
    });
    await recordVerdict({ store, campaignId: main.campaignId, itemId: incumbentRight, verdict: 'incumbent-right', reviewer: 'bob', note: 'keep', now: END_AT });
    expect((await reviewQueue(store, main.campaignId)).waiting).toHaveLength(reviewIds.length - 2);

    const planned = await planRemediation({ store, campaignId: main.campaignId, actor: 'alice', now: END_AT });
    expect(planned.map((entry) => entry.decisionId).sort()).toEqual([...correctIds, candidateRight].sort());
    for (const entry of planned) {
      expect(entry.idempotencyKey).toMatch(/^rc_[0-9a-f]{32}$/);
      expect(entry).toMatchObject({ status: 'pending', attempts: 0, lastError: null, campaignId: main.campaignId, type: TYPE });
      expect(entry.reason).toBe(entry.decisionId === candidateRight ? 'review: candidate right (bob)' : 'triage: rule deny-to-approve');
    }
    expect(new Set(planned.map((entry) => entry.idempotencyKey)).size).toBe(planned.length);
    const replanned = await planRemediation({ store, campaignId: main.campaignId, actor: 'alice', now: END_AT + 1 });
    expect(replanned).toEqual(planned);
    expect(await store.campaigns.corrections(main.campaignId)).toHaveLength(planned.length);

    const ledgerBefore = await store.listDecisions({ includeSuperseded: true, type: TYPE });
    const handled: Correction[] = [];
    const applied = await applyRemediation({
      store,
      campaignId: main.campaignId,
      handler: (correction) => {
        handled.push(correction);
      },
      actor: 'alice',
      now: () => END_AT + 2,
    });
    expect(applied).toEqual({ applied: planned.length, failed: 0, alreadyApplied: 0, cancelled: 0, claimedElsewhere: 0, excluded: [], failures: [] });
    expect(handled.map((correction) => correction.idempotencyKey).sort()).toEqual(planned.map((entry) => entry.idempotencyKey).sort());
    const again: Correction[] = [];
    const second = await applyRemediation({
      store,
      campaignId: main.campaignId,
      handler: (correction) => void again.push(correction),
      actor: 'alice',
      now: () => END_AT + 3,
    });
    expect(again).toEqual([]);
    expect(second).toEqual({ applied: 0, failed: 0, alreadyApplied: planned.length, cancelled: 0, claimedElsewhere: 0, excluded: [], failures: [] });
    for (const record of await store.campaigns.corrections(main.campaignId)) expect(record).toMatchObject({ status: 'applied', attempts: 1, lastError: null });

    // The ledger: each corrected decision is superseded by exactly one correction; originals are untouched.
    const visible = await store.listDecisions({ type: TYPE });
    const visibleIds = new Set(visible.map((decision) => decision.decisionId));
    for (const entry of planned) {
      expect(visibleIds.has(entry.decisionId)).toBe(false);
      const superseding = visible.filter((decision) => decision.supersedes === entry.decisionId);
      expect(superseding).toHaveLength(1);
      expect(superseding[0]).toMatchObject({ decisionId: `${entry.decisionId}/${entry.idempotencyKey}`, value: entry.to, type: TYPE });
    }
    const all = await store.listDecisions({ includeSuperseded: true, type: TYPE });
    const allById = new Map(all.map((decision) => [decision.decisionId, decision]));
    for (const original of ledgerBefore) expect(allById.get(original.decisionId)).toEqual(original);
    expect(all).toHaveLength(ledgerBefore.length + planned.length);

    // A handler that fails for one correction: it is recorded as failed and only it is retried.
    remediationCampaign = await plan({ decisionType: 'account.action', noiseFloor: 0 });
    expect(await run(remediationCampaign, simulatorFetch('backfill-remediation'))).toMatchObject({ pending: 0 });
    await applyTriage({
      store,
      campaignId: remediationCampaign.campaignId,
      policy: parseTriagePolicy('version: 1\ndefault: correct\nrules: []\n', 'correct-all.yaml'),
      actor: 'alice',
      now: END_AT,
    });
    const corrections = await planRemediation({ store, campaignId: remediationCampaign.campaignId, actor: 'alice', now: END_AT });
    expect(corrections.length).toBeGreaterThanOrEqual(2);
    const failing = corrections[0]?.idempotencyKey as string;
    const calls: string[] = [];
    const partly = await applyRemediation({
      store,
      campaignId: remediationCampaign.campaignId,
      handler: (correction) => {
        calls.push(correction.idempotencyKey);
        if (correction.idempotencyKey === failing) throw new Error('downstream refused: 503');
      },
      actor: 'alice',
      now: () => END_AT + 4,
    });
    expect(calls.sort()).toEqual(corrections.map((entry) => entry.idempotencyKey).sort());
    expect(partly).toEqual({
      applied: corrections.length - 1,
      failed: 1,
      alreadyApplied: 0,
      cancelled: 0,
      claimedElsewhere: 0,
      excluded: [],
      failures: [{ idempotencyKey: failing, error: 'downstream refused: 503' }],
    });
    const afterFailure = await planRemediation({ store, campaignId: remediationCampaign.campaignId, actor: 'alice', now: END_AT + 5 });
    expect(afterFailure.find((entry) => entry.idempotencyKey === failing)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'downstream refused: 503',
    });
    const failedDecision = corrections[0]?.decisionId as string;
    expect((await store.listDecisions({ type: 'account.action' })).some((decision) => decision.decisionId === failedDecision)).toBe(true);

    const retried: string[] = [];
    const retry = await applyRemediation({
      store,
      campaignId: remediationCampaign.campaignId,
      handler: (correction) => void retried.push(correction.idempotencyKey),
      actor: 'alice',
      now: () => END_AT + 6,
    });
    expect(retried).toEqual([failing]);
    expect(retry).toEqual({ applied: 1, failed: 0, alreadyApplied: corrections.length - 1, cancelled: 0, claimedElsewhere: 0, excluded: [], failures: [] });
    const final = await store.campaigns.corrections(remediationCampaign.campaignId);
    expect(final.find((record) => record.idempotencyKey === failing)).toMatchObject({ status: 'applied', attempts: 2, lastError: null });
    expect(final.filter((record) => record.idempotencyKey !== failing).every((record) => record.status === 'applied' && record.attempts === 1)).toBe(true);
    const accountLedger = await store.listDecisions({ type: 'account.action' });
    expect(accountLedger.some((decision) => decision.decisionId === failedDecision)).toBe(false);
    expect(accountLedger.filter((decision) => decision.supersedes === failedDecision)).toHaveLength(1);
  });

  it('9. the audit log is an unbroken hash chain, and editing or deleting a row is detected', async () => {
    const entries = await store.campaigns.audit();
    expect(verifyAuditChain(entries)).toEqual([]);
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
    const actions = new Set(entries.map((entry) => entry.action));
    for (const action of [
      'campaign.created',
      'campaign.run.started',
      'campaign.run.finished',
      'campaign.run.stopped',
      'triage.applied',
      'review.verdict',
      'remediation.planned',
      'correction.applied',
      'correction.failed',
    ])
      expect(actions).toContain(action);
    // Planning the same remediation twice audited it once.
    expect(entries.filter((entry) => entry.action === 'remediation.planned' && entry.campaignId === main.campaignId)).toHaveLength(1);
    const applied = entries.filter((entry) => entry.action === 'correction.applied' && entry.campaignId === main.campaignId);
    expect(applied).toHaveLength((await store.campaigns.corrections(main.campaignId)).length);

    const triageEntry = entries.find((entry) => entry.action === 'triage.applied' && entry.campaignId === main.campaignId);
    const verdictEntry = entries.find((entry) => entry.action === 'review.verdict');
    if (!triageEntry || !verdictEntry) throw new Error('missing audit entries');
    expect(verdictEntry.seq).toBeLessThan(entries.length);

    // Edit one row's details behind the store's back.
    await store.close();
    const originalDetails = auditDb((db) => {
      const row = db.prepare('SELECT details_json FROM audit_log WHERE seq = ?').get(triageEntry.seq) as { details_json: string };
      db.prepare('UPDATE audit_log SET details_json = ? WHERE seq = ?').run(
        JSON.stringify({ ...(JSON.parse(row.details_json) as object), byAction: { none: 0 } }),
        triageEntry.seq,
      );
      return row.details_json;
    });
    store = await openSqliteStore(dbPath);
    expect(verifyAuditChain(await store.campaigns.audit())).toEqual([{ seq: triageEntry.seq, problem: expect.stringMatching(/changed after it was written/) }]);

    // Put it back: the chain verifies again.
    await store.close();
    auditDb((db) => db.prepare('UPDATE audit_log SET details_json = ? WHERE seq = ?').run(originalDetails, triageEntry.seq));
    store = await openSqliteStore(dbPath);
    expect(verifyAuditChain(await store.campaigns.audit())).toEqual([]);

    // Delete a row from the middle.
    await store.close();
    auditDb((db) => expect(db.prepare('DELETE FROM audit_log WHERE seq = ?').run(verdictEntry.seq).changes).toBe(1));
    store = await openSqliteStore(dbPath);
    const problems = verifyAuditChain(await store.campaigns.audit());
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((problem) => problem.seq > verdictEntry.seq)).toBe(true);
    expect(problems.filter((problem) => problem.seq === verdictEntry.seq + 1).map((problem) => problem.problem)).toEqual([
      expect.stringMatching(/removed or inserted/),
      expect.stringMatching(/does not point at the hash/),
    ]);
  });
});
