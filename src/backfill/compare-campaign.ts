import { costOf, DEFAULT_PRICE_TABLE, type PriceTable } from '../replay/index.ts';
import { type DifferenceEstimate, newcombeDifference, type ProportionEstimate, wilsonInterval } from '../stats/index.ts';
import type { ReviewVerdictRecord, TriageRecord } from '../store/index.ts';
import type { CampaignItem, CampaignPlan } from './campaign-types.ts';
import type { LoadedCampaign } from './load-campaign.ts';

/** One decision the candidate decided differently from what shipped. */
export interface Flip {
  itemId: string;
  item: CampaignItem;
  from: string;
  to: string;
  /** Whether the incumbent, re-run on the same input, also moved off what shipped (null: not in the noise sample). */
  incumbentAlsoMoved: boolean | null;
}

export interface RateRow {
  label: string;
  flips: ProportionEstimate;
  noise: ProportionEstimate;
}

export interface CampaignComparison {
  campaignId: string;
  plan: CampaignPlan;
  progress: { items: number; candidateDone: number; incumbentDone: number; incumbentPlanned: number; failed: number };
  /** incumbent (shipped) value -> candidate value -> count. */
  flipMatrix: { values: string[]; counts: Record<string, Record<string, number>> };
  flipRate: ProportionEstimate;
  /** How often the incumbent, re-run on the same inputs, disagrees with what it shipped. */
  noiseFloor: ProportionEstimate;
  /** Flip rate minus noise floor: the part of the disagreement the incumbent's own noise does not explain. */
  adjusted: DifferenceEstimate;
  bySegment: RateRow[];
  byWeek: RateRow[];
  /**
   * Amounts of flipped decisions. `byCurrency` never adds different currencies; `atStake` and
   * `byDirection` are in `currency`, the only one, and are null/absent-safe only then.
   */
  money: {
    currency: string | null;
    atStake: number;
    byCurrency: Record<string, number>;
    byDirection: Array<{ from: string; to: string; count: number; amount: number }>;
  };
  reversibility: { reversible: number; irreversible: number };
  tokens: { candidate: { input: number; output: number }; incumbent: { input: number; output: number } };
  costUsd: number | null;
  triage: Record<string, number> | null;
  review: {
    reviewed: number;
    byVerdict: Record<string, number>;
    /** Share of decided verdicts (unsure left out) where the candidate was right. */
    candidateRight: ProportionEstimate;
  };
  flips: Flip[];
}

const DAY = 86_400_000;

/** Monday 00:00 UTC of the week holding `at`, as YYYY-MM-DD. */
function weekOf(at: number): string {
  const day = new Date(at);
  const monday = at - ((day.getUTCDay() + 6) % 7) * DAY;
  return new Date(monday - (monday % DAY)).toISOString().slice(0, 10);
}

function addTo<K>(map: Map<K, { flips: number; n: number; noise: number; noiseN: number }>, key: K) {
  const row = map.get(key) ?? { flips: 0, n: 0, noise: 0, noiseN: 0 };
  map.set(key, row);
  return row;
}

/** The latest verdict per item. */
export function latestVerdicts(verdicts: readonly ReviewVerdictRecord[]): Map<string, ReviewVerdictRecord> {
  const latest = new Map<string, ReviewVerdictRecord>();
  for (const verdict of verdicts) latest.set(verdict.itemId, verdict);
  return latest;
}

/**
 * Compares what the candidate decided with what shipped: the flip matrix and rate, the
 * incumbent's own disagreement with itself on the same inputs, the difference of the two, and
 * the breakdowns a triage meeting asks for. Every rate carries its sample size and 95% interval.
 */
export function compareCampaign(
  campaign: LoadedCampaign,
  extras: { triage?: readonly TriageRecord[]; verdicts?: readonly ReviewVerdictRecord[]; prices?: PriceTable } = {},
): CampaignComparison {
  const { plan } = campaign;
  const byItem = new Map(campaign.items.map((entry) => [entry.itemId, entry]));
  const candidate = new Map<string, string>();
  const incumbent = new Map<string, string>();
  const tokens = { candidate: { input: 0, output: 0 }, incumbent: { input: 0, output: 0 } };
  let costUsd: number | null = 0;
  let failed = 0;
  for (const { itemId, arm, result } of campaign.results) {
    if ('error' in result) {
      failed++;
      continue;
    }
    (arm === 'candidate' ? candidate : incumbent).set(itemId, result.value);
    tokens[arm].input += result.inputTokens;
    tokens[arm].output += result.outputTokens;
    const cost = costOf(extras.prices ?? DEFAULT_PRICE_TABLE, result.modelSent, result.inputTokens, result.outputTokens);
    costUsd = cost === null || costUsd === null ? null : costUsd + cost;
  }

  const values = new Set<string>();
  const counts: Record<string, Record<string, number>> = {};
  const flips: Flip[] = [];
  const segments = new Map<string, { flips: number; n: number; noise: number; noiseN: number }>();
  const weeks = new Map<string, { flips: number; n: number; noise: number; noiseN: number }>();
  let noise = 0;
  for (const [itemId, value] of candidate) {
    const entry = byItem.get(itemId);
    if (!entry) continue;
    const { item } = entry;
    values.add(item.value).add(value);
    counts[item.value] ??= {};
    const row = counts[item.value] as Record<string, number>;
    row[value] = (row[value] ?? 0) + 1;
    const flipped = value !== item.value;
    const rerun = incumbent.get(itemId);
    if (flipped) flips.push({ itemId, item, from: item.value, to: value, incumbentAlsoMoved: rerun === undefined ? null : rerun !== item.value });
    for (const bucket of [addTo(segments, item.attributes[plan.segmentBy] ?? '(none)'), addTo(weeks, weekOf(item.effectiveAt))]) {
      bucket.n++;
      if (flipped) bucket.flips++;
    }
  }
  for (const [itemId, value] of incumbent) {
    const entry = byItem.get(itemId);
    if (!entry) continue;
    const moved = value !== entry.item.value;
    if (moved) noise++;
    for (const bucket of [addTo(segments, entry.item.attributes[plan.segmentBy] ?? '(none)'), addTo(weeks, weekOf(entry.item.effectiveAt))]) {
      bucket.noiseN++;
      if (moved) bucket.noise++;
    }
  }

  const flipRate = wilsonInterval(flips.length, candidate.size);
  const noiseFloor = wilsonInterval(noise, incumbent.size);
  const rows = (map: typeof segments) =>
    [...map]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, row]) => ({ label, flips: wilsonInterval(row.flips, row.n), noise: wilsonInterval(row.noise, row.noiseN) }));

  const directions = new Map<string, { from: string; to: string; count: number; amount: number }>();
  let atStake = 0;
  const byCurrency: Record<string, number> = {};
  let reversible = 0;
  for (const flip of flips) {
    const key = `${flip.from}\n${flip.to}`;
    const direction = directions.get(key) ?? { from: flip.from, to: flip.to, count: 0, amount: 0 };
    direction.count++;
    direction.amount += flip.item.amount ?? 0;
    directions.set(key, direction);
    atStake += flip.item.amount ?? 0;
    if (flip.item.amount !== null) byCurrency[flip.item.currency ?? '(none)'] = (byCurrency[flip.item.currency ?? '(none)'] ?? 0) + flip.item.amount;
    if (flip.item.reversible) reversible++;
  }

  const tally = (labels: readonly string[]) => {
    const counted: Record<string, number> = {};
    for (const label of labels) counted[label] = (counted[label] ?? 0) + 1;
    return counted;
  };
  const triage = extras.triage ? tally(extras.triage.map((record) => record.action)) : null;
  const latest = [...latestVerdicts(extras.verdicts ?? []).values()];
  const byVerdict = tally(latest.map((verdict) => verdict.verdict));
  const decided = latest.filter((verdict) => verdict.verdict !== 'unsure');

  return {
    campaignId: campaign.campaignId,
    plan,
    progress: {
      items: campaign.items.length,
      candidateDone: candidate.size,
      incumbentDone: incumbent.size,
      incumbentPlanned: campaign.items.filter((entry) => entry.arms.includes('incumbent')).length,
      failed,
    },
    flipMatrix: { values: [...values].sort(), counts },
    flipRate,
    noiseFloor,
    adjusted: newcombeDifference(flipRate, noiseFloor),
    bySegment: rows(segments),
    byWeek: rows(weeks),
    money: {
      currency: flips.find((flip) => flip.item.currency)?.item.currency ?? null,
      atStake,
      byCurrency,
      byDirection: [...directions.values()].sort((a, b) => b.amount - a.amount),
    },
    reversibility: { reversible, irreversible: flips.length - reversible },
    tokens,
    costUsd,
    triage,
    review: {
      reviewed: latest.length,
      byVerdict,
      candidateRight: wilsonInterval(decided.filter((verdict) => verdict.verdict === 'candidate-right').length, decided.length),
    },
    flips,
  };
}
