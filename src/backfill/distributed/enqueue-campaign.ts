import type { Store } from '../../store/index.ts';
import type { BackfillQueue } from './backfill-queue.ts';
import { unfinishedChunks } from './campaign-status.ts';

export interface EnqueueSummary {
  campaignId: string;
  /** Chunks of the campaign, and those still missing a result. */
  chunks: number;
  unfinished: number;
  /** New jobs; jobs that had given up and were put back; unfinished chunks whose job was already waiting or running. */
  added: number;
  requeued: number;
  alreadyQueued: number;
}

/**
 * Puts a campaign's unfinished chunks on the queue for `retrial worker` processes. Idempotent:
 * finished chunks are not enqueued, and a chunk's job id is derived from (campaign, chunk), so
 * running it again while the jobs wait or run adds nothing.
 */
export async function enqueueCampaign(options: {
  store: Store;
  queue: BackfillQueue;
  campaignId: string;
  jobTimeoutSeconds: number;
  actor: string;
  now?: () => number;
}): Promise<EnqueueSummary> {
  const { store, queue, campaignId } = options;
  const { total, unfinished } = await unfinishedChunks(store, campaignId);
  const { added, requeued } = await queue.enqueue(campaignId, unfinished, { jobTimeoutSeconds: options.jobTimeoutSeconds });
  const summary: EnqueueSummary = {
    campaignId,
    chunks: total,
    unfinished: unfinished.length,
    added,
    requeued,
    alreadyQueued: unfinished.length - added - requeued,
  };
  if (added || requeued)
    await store.campaigns.appendAudit({
      at: (options.now ?? Date.now)(),
      actor: options.actor,
      action: 'campaign.enqueued',
      campaignId,
      details: { added, requeued, jobTimeoutSeconds: options.jobTimeoutSeconds },
    });
  return summary;
}
