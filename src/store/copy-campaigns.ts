import { canonicalJson, sha256Hex } from '../tape/index.ts';
import type {
  CampaignItemRecord,
  CampaignRecord,
  CampaignResultRecord,
  CampaignStore,
  CorrectionRecord,
  ReviewVerdictRecord,
  TriageRecord,
} from './campaign-store.ts';

/** Everything a store keeps of one campaign, as `retrial copy` moves it. */
export interface CampaignContent {
  campaign: CampaignRecord;
  items: CampaignItemRecord[];
  results: CampaignResultRecord[];
  triage: TriageRecord[];
  verdicts: ReviewVerdictRecord[];
  corrections: CorrectionRecord[];
}

export async function readCampaignContent(campaigns: CampaignStore, campaign: CampaignRecord): Promise<CampaignContent> {
  const { campaignId } = campaign;
  const [items, results, triage, verdicts, corrections] = await Promise.all([
    campaigns.items(campaignId),
    campaigns.results(campaignId),
    campaigns.triage(campaignId),
    campaigns.verdicts(campaignId),
    campaigns.corrections(campaignId),
  ]);
  return { campaign, items, results, triage, verdicts, corrections };
}

/** sha256 of the campaign's content in canonical JSON: equal in two stores when they hold the same campaign. */
export function campaignDigest(content: CampaignContent): string {
  return sha256Hex(canonicalJson(content));
}

/** What the target lacks of a source campaign. Empty lists and null triage: nothing to write. */
export interface CampaignCatchUp {
  /** The target has no such campaign: create it with its items first. */
  create: boolean;
  results: CampaignResultRecord[];
  /** The source's triage, when the target's differs; null when equal. */
  triage: TriageRecord[] | null;
  /** Verdicts after the ones the target holds, oldest first. */
  verdicts: ReviewVerdictRecord[];
  newCorrections: CorrectionRecord[];
  /** Corrections the target holds whose status, attempts, error or time moved on in the source. */
  correctionUpdates: CorrectionRecord[];
}

const json = (value: unknown) => canonicalJson(value);
const resultKey = (result: CampaignResultRecord) => `${result.itemId}\n${result.arm}`;
/** A correction without the fields apply moves on: what it corrects and how. */
const correctionSubject = ({ idempotencyKey, campaignId, itemId, correction }: CorrectionRecord) => json({ idempotencyKey, campaignId, itemId, correction });
const correctionState = ({ status, attempts, lastError, appliedAt }: CorrectionRecord) => json({ status, attempts, lastError, appliedAt });

/**
 * What to write so the target's campaign equals the source's, when the target's is an earlier
 * state of it (a copy interrupted, or made before the source's campaign moved on); a string saying
 * how it differs when it is another campaign under the same id. Results and verdicts are only ever
 * added and the plan and items never change, so the target's must be the source's or a part of them.
 */
export function planCampaignCatchUp(source: CampaignContent, target: CampaignContent | undefined): CampaignCatchUp | string {
  if (target === undefined)
    return {
      create: true,
      results: source.results,
      triage: source.triage.length ? source.triage : null,
      verdicts: source.verdicts,
      newCorrections: source.corrections,
      correctionUpdates: [],
    };
  if (json(target.campaign) !== json(source.campaign)) return 'its plan or creation time differs';
  if (json(target.items) !== json(source.items)) return 'its selected decisions differ';
  const sourceResults = new Map(source.results.map((result) => [resultKey(result), json(result)]));
  const held = new Set<string>();
  for (const result of target.results) {
    const key = resultKey(result);
    if (sourceResults.get(key) !== json(result)) return `it holds a ${result.arm} result for ${result.itemId} the source does not have`;
    held.add(key);
  }
  const verdictsHeld = target.verdicts.length;
  if (verdictsHeld > source.verdicts.length || json(target.verdicts) !== json(source.verdicts.slice(0, verdictsHeld)))
    return 'it holds review verdicts the source does not have';
  const sourceCorrections = new Map(source.corrections.map((correction) => [correction.idempotencyKey, correction]));
  const correctionsHeld = new Map<string, CorrectionRecord>();
  for (const correction of target.corrections) {
    const wanted = sourceCorrections.get(correction.idempotencyKey);
    if (wanted === undefined || correctionSubject(wanted) !== correctionSubject(correction))
      return `it holds correction ${correction.idempotencyKey}, which the source does not have`;
    correctionsHeld.set(correction.idempotencyKey, correction);
  }
  return {
    create: false,
    results: source.results.filter((result) => !held.has(resultKey(result))),
    triage: json(target.triage) === json(source.triage) ? null : source.triage,
    verdicts: source.verdicts.slice(verdictsHeld),
    newCorrections: source.corrections.filter((correction) => !correctionsHeld.has(correction.idempotencyKey)),
    correctionUpdates: source.corrections.filter((correction) => {
      const heldCorrection = correctionsHeld.get(correction.idempotencyKey);
      return heldCorrection !== undefined && correctionState(heldCorrection) !== correctionState(correction);
    }),
  };
}

export function isCaughtUp(plan: CampaignCatchUp): boolean {
  return (
    !plan.create &&
    plan.results.length === 0 &&
    plan.triage === null &&
    plan.verdicts.length === 0 &&
    plan.newCorrections.length === 0 &&
    plan.correctionUpdates.length === 0
  );
}

/** Rows per putResults call: bulk, with each call's transaction bounded. */
const RESULTS_PER_WRITE = 2_000;

/**
 * Writes a catch-up plan. No audit entries: the source's log is copied whole, entry for entry,
 * after the campaigns. Each step is idempotent, so a copy killed between two of them finishes
 * the campaign when it runs again.
 */
export async function applyCampaignCatchUp(campaigns: CampaignStore, source: CampaignContent, plan: CampaignCatchUp): Promise<void> {
  const { campaignId } = source.campaign;
  if (plan.create) await campaigns.create(source.campaign, source.items);
  for (let start = 0; start < plan.results.length; start += RESULTS_PER_WRITE) await campaigns.putResults(plan.results.slice(start, start + RESULTS_PER_WRITE));
  if (plan.triage !== null) await campaigns.replaceTriage(campaignId, plan.triage);
  for (const verdict of plan.verdicts) await campaigns.addVerdict(verdict);
  if (plan.newCorrections.length) await campaigns.putCorrections(plan.newCorrections);
  for (const correction of plan.correctionUpdates) {
    const { status, attempts, lastError, appliedAt } = correction;
    await campaigns.updateCorrection(correction.idempotencyKey, { status, attempts, lastError, appliedAt });
  }
}
