import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CampaignItem, campaignEndpoints, compareCampaign, loadCampaign, modelForArm, planCampaign, runCampaign } from '../../src/backfill/index.ts';
import {
  CANDIDATE_VERSION_ID,
  createSimulatedModel,
  createSimulatorFetch,
  DEMO_HISTORY_SEED,
  INCUMBENT_VERSION_ID,
  recordDemoHistory,
  SIMULATOR_ACTIONS,
  startSimulatorServer,
} from '../../src/demo/index.ts';
import { readWireRequestTexts } from '../../src/inspect/index.ts';
import { NO_TOOL } from '../../src/replay/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';

/**
 * Backfill's two headline rates checked against ground truth. The simulator knows the exact action
 * distribution of every recorded decision step, so for each shipped decision we know the true
 * probability that the candidate answers something that maps to another value (its flip
 * probability) and that the incumbent, re-run on the same input, does (its self-disagreement).
 * The truth of a campaign is the mean of those probabilities over the decisions it re-decided;
 * the population truth is the mean over every eligible decision.
 *
 * The noise truth is conditional on what shipped: 1 - p_incumbent(shipped value), not the
 * incumbent's unconditional disagreement rate sum p(1 - p), because the campaign compares each
 * re-run with the recorded answer. Most decisions are near-certain either way (the simulator runs
 * at temperature 0 with tiny noise), so the counts vary less than a binomial's and the Wilson
 * intervals over-cover; the bias check at the end is what keeps the test sharp.
 *
 * Everything is seeded (recording, samples, simulator noise), so the figures are the same on every run.
 */

const RUNS = 600;
const CAMPAIGNS = 60;
const SAMPLE = 150;
const CANDIDATE = { provider: 'sim' as const, model: CANDIDATE_VERSION_ID };
const END_AT = Date.UTC(2026, 10, 20);
const DAY = 86_400_000;

let directory: string;
let store: Store;
let window: { since: number; until: number };
/** Per eligible decision: true probability of a flip, and of the incumbent moving off what shipped. */
const truth = new Map<string, { flip: number; noise: number }>();

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** Probability that an answer drawn from `probabilities` maps to `value` (a text reply is the tool `(no tool)`). */
function probabilityOfValue(probabilities: Record<string, number>, mapping: Record<string, string>, value: string): number {
  return SIMULATOR_ACTIONS.reduce((sum, action) => (mapping[action === 'reply' ? NO_TOOL : action] === value ? sum + (probabilities[action] ?? 0) : sum), 0);
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-calibration-'));
  store = await openSqliteStore(join(directory, 'retrial.db'));
  const simulator = await startSimulatorServer({ port: 0, seed: DEMO_HISTORY_SEED });
  try {
    const history = await recordDemoHistory({ store, modelBaseUrl: `${simulator.url}/v1`, runs: RUNS, endAt: END_AT, redactionSalt: 'calibration' });
    expect(history.failedRuns).toBe(0);
    window = { since: history.world.startAt - DAY, until: history.world.endAt + DAY };
  } finally {
    await simulator.close();
  }

  // Every eligible decision once (nothing is sent), to compute the truth for each.
  const { campaignId, plan } = await planCampaign({
    store,
    decisionType: 'refund.category',
    ...window,
    candidate: CANDIDATE,
    noiseFloor: 0,
    actor: 'calibration',
    now: END_AT,
  });
  const { items } = await loadCampaign(store, campaignId);
  expect(items.length).toBe(plan.eligible);
  const texts = await readWireRequestTexts(
    store,
    items.map(({ item }) => item.requestBody),
  );
  const oracle = createSimulatedModel();
  const pSame = (item: CampaignItem, model: string) => {
    const body = { ...(JSON.parse(texts.get(item.requestBody) as string) as Record<string, unknown>), model };
    return probabilityOfValue(oracle.probabilities(body), plan.mapping, item.value);
  };
  for (const { itemId, item } of items) {
    const incumbent = modelForArm(plan, 'incumbent', item);
    expect(incumbent).toBe(INCUMBENT_VERSION_ID);
    truth.set(itemId, { flip: 1 - pSame(item, modelForArm(plan, 'candidate', item)), noise: 1 - pSame(item, incumbent) });
  }
}, 120_000);

afterAll(async () => {
  await store?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe("backfill: flip rate and noise floor, checked against the simulator's true probabilities", () => {
  it(`over ${CAMPAIGNS} seeded campaigns of ${SAMPLE} decisions, both 95% intervals cover the truth in at least 90% of them`, async () => {
    const population = { flip: mean([...truth.values()].map((entry) => entry.flip)), noise: mean([...truth.values()].map((entry) => entry.noise)) };
    // The simulator is tuned for a ~4% flip rate and a ~1% noise floor; far from those, the test would say little.
    expect(truth.size).toBeGreaterThan(SAMPLE);
    expect(population.flip).toBeGreaterThan(0.02);
    expect(population.flip).toBeLessThan(0.07);
    expect(population.noise).toBeGreaterThan(0.003);
    expect(population.noise).toBeLessThan(0.03);

    const covered = { flip: 0, noise: 0, flipPopulation: 0, noisePopulation: 0 };
    const widths = { flip: [] as number[], noise: [] as number[] };
    /** Estimate minus the campaign's truth: its mean over campaigns is the estimator's bias. */
    const errors = { flip: [] as number[], noise: [] as number[] };
    const inside = (estimate: { low: number; high: number }, value: number) => estimate.low <= value && value <= estimate.high;
    for (let k = 0; k < CAMPAIGNS; k++) {
      const { campaignId, plan } = await planCampaign({
        store,
        decisionType: 'refund.category',
        ...window,
        candidate: CANDIDATE,
        sample: SAMPLE,
        seed: `cal-sample-${k}`,
        noiseFloor: SAMPLE,
        actor: 'calibration',
        now: END_AT,
      });
      expect(plan.selected).toBe(SAMPLE);
      expect(plan.noiseFloor).toBe(SAMPLE);
      const summary = await runCampaign({
        store,
        campaignId,
        endpointFor: campaignEndpoints(plan, {
          simulator: { baseUrl: 'http://simulator.in-process/v1', fetch: createSimulatorFetch(createSimulatedModel({ seed: `cal-${k}` })) },
        }),
        actor: 'calibration',
        now: () => END_AT,
      });
      expect(summary).toMatchObject({ total: 2 * SAMPLE, written: 2 * SAMPLE, pending: 0 });
      const campaign = await loadCampaign(store, campaignId);
      const comparison = compareCampaign(campaign);
      expect(comparison.progress).toMatchObject({ candidateDone: SAMPLE, incumbentDone: SAMPLE, failed: 0 });

      const selected = campaign.items.map((entry) => truth.get(entry.itemId) as { flip: number; noise: number });
      const rerun = campaign.items
        .filter((entry) => entry.arms.includes('incumbent'))
        .map((entry) => truth.get(entry.itemId) as { flip: number; noise: number });
      const flipTruth = mean(selected.map((entry) => entry.flip));
      const noiseTruth = mean(rerun.map((entry) => entry.noise));
      if (inside(comparison.flipRate, flipTruth)) covered.flip++;
      if (inside(comparison.noiseFloor, noiseTruth)) covered.noise++;
      if (inside(comparison.flipRate, population.flip)) covered.flipPopulation++;
      if (inside(comparison.noiseFloor, population.noise)) covered.noisePopulation++;
      errors.flip.push(comparison.flipRate.rate - flipTruth);
      errors.noise.push(comparison.noiseFloor.rate - noiseTruth);
      widths.flip.push(comparison.flipRate.high - comparison.flipRate.low);
      widths.noise.push(comparison.noiseFloor.high - comparison.noiseFloor.low);
    }

    const percent = (count: number) => `${((100 * count) / CAMPAIGNS).toFixed(1)}%`;
    const points = (rate: number) => `${rate >= 0 ? '+' : ''}${(100 * rate).toFixed(2)}`;
    console.log(
      [
        `backfill calibration: ${CAMPAIGNS} campaigns of ${SAMPLE} from ${truth.size} eligible refund.category decisions (${RUNS} recorded runs)`,
        `  true population flip rate ${(100 * population.flip).toFixed(2)}%, noise floor ${(100 * population.noise).toFixed(2)}%`,
        `  flip rate:   covers the selected decisions' truth in ${percent(covered.flip)}, the population's in ${percent(covered.flipPopulation)}; mean 95% interval width ${(100 * mean(widths.flip)).toFixed(2)} points, mean error ${points(mean(errors.flip))} points`,
        `  noise floor: covers the re-run decisions' truth in ${percent(covered.noise)}, the population's in ${percent(covered.noisePopulation)}; mean 95% interval width ${(100 * mean(widths.noise)).toFixed(2)} points, mean error ${points(mean(errors.noise))} points`,
      ].join('\n'),
    );
    expect(covered.flip / CAMPAIGNS).toBeGreaterThanOrEqual(0.9);
    expect(covered.noise / CAMPAIGNS).toBeGreaterThanOrEqual(0.9);
    expect(covered.flipPopulation / CAMPAIGNS).toBeGreaterThanOrEqual(0.9);
    expect(covered.noisePopulation / CAMPAIGNS).toBeGreaterThanOrEqual(0.9);
    // Coverage alone would pass with intervals that are wide or off-centre. Each campaign's error has
    // a standard deviation under one point of rate, so its mean over the campaigns stays within
    // about a tenth of a point of zero unless the estimate is biased; half a point is a wide margin.
    expect(Math.abs(mean(errors.flip))).toBeLessThan(0.005);
    expect(Math.abs(mean(errors.noise))).toBeLessThan(0.005);
    expect(mean(widths.flip)).toBeLessThan(0.1);
    expect(mean(widths.noise)).toBeLessThan(0.05);
  }, 120_000);
});
