import type { CampaignArm, Store } from '../../store/index.ts';
import { loadCampaignPlan } from '../load-campaign.ts';
import type { BackfillQueue, JobState } from './backfill-queue.ts';
import { redactedUrl } from './postgres-failure.ts';

export interface ArmProgress {
  /** Items with a result on this arm, of `total`. */
  done: number;
  total: number;
}

/** Progress of a campaign as any machine sees it: the store's results, and the queue's jobs when a queue is given. */
export interface CampaignStatus {
  campaignId: string;
  chunks: {
    total: number;
    /** Every arm of every item has a result. */
    done: number;
    /** Unfinished, and a worker holds its job. */
    running: number;
    /** Unfinished, and its job waits for a worker. */
    queued: number;
    /** Unfinished, and its job gave up after every attempt: `backfill run --distributed` again puts it back. */
    failed: number;
    /** Unfinished, and on no queue (never enqueued, or no queue was asked). */
    notQueued: number;
  };
  arms: Record<CampaignArm, ArmProgress>;
  /** Results that say the endpoint refused the request for good. */
  refused: number;
  /** Where the jobs were looked up, without password; null when no queue was given. */
  queue: string | null;
}

/** Unfinished chunks of a campaign in chunk order, with how many arms each still lacks. */
export async function unfinishedChunks(
  store: Store,
  campaignId: string,
): Promise<{ total: number; unfinished: number[]; status: Omit<CampaignStatus, 'queue'> }> {
  await loadCampaignPlan(store, campaignId);
  const items = await store.campaigns.items(campaignId);
  const results = await store.campaigns.results(campaignId);
  const done = new Set(results.map((result) => `${result.itemId}\n${result.arm}`));
  const arms: Record<CampaignArm, ArmProgress> = { candidate: { done: 0, total: 0 }, incumbent: { done: 0, total: 0 } };
  const chunkOpen = new Map<number, boolean>();
  for (const record of items) {
    let open = chunkOpen.get(record.chunk) ?? false;
    for (const arm of record.arms) {
      arms[arm].total++;
      if (done.has(`${record.itemId}\n${arm}`)) arms[arm].done++;
      else open = true;
    }
    chunkOpen.set(record.chunk, open);
  }
  const unfinished = [...chunkOpen]
    .filter(([, open]) => open)
    .map(([chunk]) => chunk)
    .sort((a, b) => a - b);
  const refused = results.filter((result) => typeof result.result === 'object' && result.result !== null && 'error' in result.result).length;
  return {
    total: chunkOpen.size,
    unfinished,
    status: {
      campaignId,
      chunks: { total: chunkOpen.size, done: chunkOpen.size - unfinished.length, running: 0, queued: 0, failed: 0, notQueued: unfinished.length },
      arms,
      refused,
    },
  };
}

export async function campaignStatus(store: Store, campaignId: string, queue?: BackfillQueue): Promise<CampaignStatus> {
  const { unfinished, status } = await unfinishedChunks(store, campaignId);
  if (!queue) return { ...status, queue: null };
  const states = await queue.states(campaignId);
  const count = (wanted: readonly JobState[]) => unfinished.filter((chunk) => wanted.includes(states.get(chunk) as JobState)).length;
  const running = count(['active']);
  const queued = count(['created', 'retry']);
  const failed = count(['failed', 'cancelled']);
  return {
    ...status,
    chunks: { ...status.chunks, running, queued, failed, notQueued: unfinished.length - running - queued - failed },
    queue: redactedUrl(queue.url),
  };
}
