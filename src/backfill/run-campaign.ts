import type { CampaignArm, Store } from '../store/index.ts';
import { createChunkRunner } from './chunk-runner.ts';
import type { ChunkWork, EndpointFor } from './execute-chunk.ts';
import type { ForkDecider } from './fork-decider.ts';
import { loadCampaign } from './load-campaign.ts';

export interface RunCampaignOptions {
  store: Store;
  campaignId: string;
  endpointFor: EndpointFor;
  /** Needed for `run`-mode campaigns (see fork-decider.ts). */
  decideByFork?: ForkDecider;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Requests started per second, or null for no limit. */
  ratePerSecond?: number | null;
  /** Stop after this many retryable failures in a row (default 8): the endpoint is down. */
  maxConsecutiveFailures?: number;
  onProgress?: (progress: RunProgress) => void;
  actor: string;
  now?: () => number;
}

export interface RunProgress {
  /** Item-arm results in the store, of `total`. */
  done: number;
  total: number;
  /** Answers received by this run. */
  answered: number;
}

export interface CampaignRunSummary {
  campaignId: string;
  total: number;
  /** Results that were already in the store when this run started (a resumed campaign). */
  alreadyDone: number;
  written: number;
  /** Item-arms still without a result: rerun the command to finish them. */
  pending: number;
  durationMs: number;
  /** Why the run stopped early, or null. */
  stoppedBecause: string | null;
}

/**
 * The local pool: runs a campaign's unfinished chunks in this process, several at once so the
 * request gate stays full while one chunk waits for its slowest answer. Resuming is rerunning:
 * whatever already has a result is skipped, and the store keeps the first result of each
 * item and arm, so a campaign killed at any moment ends with exactly one result per decision.
 */
export async function runCampaign(options: RunCampaignOptions): Promise<CampaignRunSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const { store, campaignId } = options;
  const { plan, items, results } = await loadCampaign(store, campaignId);
  const done = new Set(results.map((result) => `${result.itemId}\n${result.arm}`));
  const chunks = new Map<number, ChunkWork[]>();
  let total = 0;
  for (const record of items) {
    total += record.arms.length;
    const arms = record.arms.filter((arm: CampaignArm) => !done.has(`${record.itemId}\n${arm}`));
    if (!arms.length) continue;
    const work = chunks.get(record.chunk) ?? [];
    work.push({ itemId: record.itemId, item: record.item, arms });
    chunks.set(record.chunk, work);
  }
  const alreadyDone = done.size;
  await store.campaigns.appendAudit({ at: now(), actor: options.actor, action: 'campaign.run.started', campaignId, details: { total, alreadyDone } });

  const concurrency = options.concurrency ?? 16;
  const runner = createChunkRunner({
    store,
    campaignId,
    plan,
    endpointFor: options.endpointFor,
    decideByFork: options.decideByFork,
    concurrency,
    ratePerSecond: options.ratePerSecond,
    maxConsecutiveFailures: options.maxConsecutiveFailures,
    now,
    onAnswer: () => {
      answered++;
    },
  });
  const queue = [...chunks.keys()].sort((a, b) => a - b);
  let written = 0;
  let answered = 0;
  let pending = 0;
  const report = () => options.onProgress?.({ done: alreadyDone + written, total, answered });
  report();

  const chunkWorker = async () => {
    // Take a chunk only while not stopped: one taken after a stop would run nowhere and be counted nowhere.
    const next = () => (runner.stoppedBecause === null ? queue.shift() : undefined);
    for (let chunk = next(); chunk !== undefined; chunk = next()) {
      const outcome = await runner.run(chunks.get(chunk) ?? []);
      written += outcome.written;
      pending += outcome.pending;
      report();
    }
  };
  // Enough chunks in flight that the gate never waits on one chunk's tail.
  const chunkSize = plan.chunkSize;
  const workers = Math.max(2, Math.ceil(concurrency / chunkSize) + 1);
  await Promise.all(Array.from({ length: Math.min(workers, Math.max(1, queue.length)) }, chunkWorker));
  pending += queue.reduce((sum, chunk) => sum + (chunks.get(chunk) ?? []).reduce((arms, work) => arms + work.arms.length, 0), 0);
  const stoppedBecause = runner.stoppedBecause;

  const summary: CampaignRunSummary = { campaignId, total, alreadyDone, written, pending, durationMs: performance.now() - started, stoppedBecause };
  await store.campaigns.appendAudit({
    at: now(),
    actor: options.actor,
    action: pending ? 'campaign.run.stopped' : 'campaign.run.finished',
    campaignId,
    details: { written, pending, stoppedBecause },
  });
  return summary;
}
