import { REVIEW_VERDICTS, type ReviewVerdictRecord, type Store } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';
import { compareCampaign, type Flip, latestVerdicts } from './compare-campaign.ts';
import { loadCampaign } from './load-campaign.ts';

export const VERDICTS = REVIEW_VERDICTS;
export type Verdict = (typeof REVIEW_VERDICTS)[number];

export interface ReviewQueue {
  /** Flips routed to review that have no verdict yet, largest amount first. */
  waiting: Flip[];
  reviewed: number;
  /** Whether triage has run; without it, every flip is in the queue. */
  triaged: boolean;
}

/** The flips a person should look at next: those triage routed to `review`, without a verdict. */
export async function reviewQueue(store: Store, campaignId: string): Promise<ReviewQueue> {
  const campaign = await loadCampaign(store, campaignId);
  const triage = await store.campaigns.triage(campaignId);
  const verdicts = latestVerdicts(await store.campaigns.verdicts(campaignId));
  const routed = new Set(triage.filter((record) => record.action === 'review').map((record) => record.itemId));
  const { flips } = compareCampaign(campaign);
  const inQueue = flips.filter((flip) => triage.length === 0 || routed.has(flip.itemId));
  return {
    waiting: inQueue
      .filter((flip) => !verdicts.has(flip.itemId))
      .sort((a, b) => (b.item.amount ?? 0) - (a.item.amount ?? 0) || a.itemId.localeCompare(b.itemId)),
    reviewed: inQueue.filter((flip) => verdicts.has(flip.itemId)).length,
    triaged: triage.length > 0,
  };
}

/** Records a person's verdict on one flip (a later verdict on the same flip supersedes it) and audits it. */
export async function recordVerdict(options: {
  store: Store;
  campaignId: string;
  itemId: string;
  verdict: Verdict;
  reviewer: string;
  note: string;
  now: number;
}): Promise<ReviewVerdictRecord> {
  if (!VERDICTS.includes(options.verdict))
    throw new RetrialError({ code: 'USAGE', message: `Verdict "${options.verdict}" is not one of ${VERDICTS.join(', ')}.` });
  if (!options.reviewer.trim()) throw new RetrialError({ code: 'USAGE', message: 'A verdict needs a reviewer name (--reviewer or $USER).' });
  const campaign = await loadCampaign(options.store, options.campaignId);
  const { flips } = compareCampaign(campaign);
  if (!flips.some((flip) => flip.itemId === options.itemId))
    throw new RetrialError({
      code: 'NOT_FOUND',
      message: `${options.itemId} is not a flip of campaign ${options.campaignId}; \`npx retrial review ${options.campaignId} --list\` lists the flips waiting for review.`,
    });
  const record: ReviewVerdictRecord = {
    campaignId: options.campaignId,
    itemId: options.itemId,
    verdict: options.verdict,
    reviewer: options.reviewer,
    note: options.note,
    at: options.now,
  };
  await options.store.campaigns.addVerdict(record, {
    at: options.now,
    actor: options.reviewer,
    action: 'review.verdict',
    campaignId: options.campaignId,
    details: { itemId: options.itemId, verdict: options.verdict, note: options.note },
  });
  return record;
}
