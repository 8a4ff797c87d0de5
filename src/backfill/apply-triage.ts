import type { Store, TriageRecord } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';
import { compareCampaign, type Flip } from './compare-campaign.ts';
import { loadCampaign } from './load-campaign.ts';
import { type FlipFacts, type TriageAction, type TriagePolicy, triageFlip } from './triage-policy.ts';

const DAY = 86_400_000;

/** What triage knows of a flip. "Reviewed" means a person reviewed the decision when it shipped (a `reviewed_by` attribute). */
export function flipFacts(flip: Flip, type: string, now: number): FlipFacts {
  const { item } = flip;
  return {
    itemId: flip.itemId,
    type,
    from: flip.from,
    to: flip.to,
    amount: item.amount,
    reversible: item.reversible,
    ageDays: Math.max(0, (now - item.effectiveAt) / DAY),
    reviewed: Boolean(item.attributes.reviewed_by ?? item.attributes.reviewedBy),
    attributes: item.attributes,
  };
}

export interface TriageOutcome {
  flips: number;
  byAction: Partial<Record<TriageAction, number>>;
  byRule: Record<string, number>;
  policyDigest: string;
}

/**
 * Gives every flip of a campaign an action under a policy, replacing the previous triage, and
 * writes an audit entry naming the policy by digest. Cheap: it reads stored results, sends nothing.
 */
export async function applyTriage(options: { store: Store; campaignId: string; policy: TriagePolicy; actor: string; now: number }): Promise<TriageOutcome> {
  const campaign = await loadCampaign(options.store, options.campaignId);
  if (!campaign.results.some((result) => result.arm === 'candidate'))
    throw new RetrialError({
      code: 'USAGE',
      message: `Campaign ${options.campaignId} has no results yet, so there is nothing to triage; run \`npx retrial backfill run ${options.campaignId}\` first.`,
    });
  const { flips } = compareCampaign(campaign);
  const assignments: TriageRecord[] = flips.map((flip) => {
    const { action, rule } = triageFlip(options.policy, flipFacts(flip, campaign.plan.decisionType, options.now));
    return { campaignId: options.campaignId, itemId: flip.itemId, action, rule };
  });
  const byAction: Partial<Record<TriageAction, number>> = {};
  // Every rule is listed, matched or not: a rule that matches nothing often has a typo in a value.
  const byRule: Record<string, number> = Object.fromEntries([...options.policy.rules.map((rule) => rule.name), 'default'].map((name) => [name, 0]));
  for (const { action, rule } of assignments) {
    byAction[action as TriageAction] = (byAction[action as TriageAction] ?? 0) + 1;
    byRule[rule] = (byRule[rule] ?? 0) + 1;
  }
  await options.store.campaigns.replaceTriage(options.campaignId, assignments, {
    at: options.now,
    actor: options.actor,
    action: 'triage.applied',
    campaignId: options.campaignId,
    details: { policy: options.policy.source, policyDigest: options.policy.digest, flips: flips.length, byAction },
  });
  return { flips: flips.length, byAction, byRule, policyDigest: options.policy.digest };
}
