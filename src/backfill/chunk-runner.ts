import { EndpointError } from '../replay/index.ts';
import type { CampaignArm, Store } from '../store/index.ts';
import { type CampaignPlan, campaignItemSchema, parseStored } from './campaign-types.ts';
import { expandItem } from './compact-items.ts';
import { type ChunkOutcome, type ChunkWork, type EndpointFor, executeChunk } from './execute-chunk.ts';
import type { ForkDecider } from './fork-decider.ts';
import { createRequestGate } from './request-gate.ts';

export interface ChunkRunnerOptions {
  store: Store;
  campaignId: string;
  plan: CampaignPlan;
  endpointFor: EndpointFor;
  /** Needed for `run`-mode campaigns (see fork-decider.ts). */
  decideByFork?: ForkDecider;
  /** Requests in flight at once, over every chunk this runner runs (default 16). */
  concurrency?: number;
  /** Requests started per second, or null for no limit. */
  ratePerSecond?: number | null;
  /** Stop after this many retryable failures in a row (default 8): the endpoint is down. */
  maxConsecutiveFailures?: number;
  now?: () => number;
  /** Called after each answered request. */
  onAnswer?: () => void;
}

/**
 * The executor both paths share: the local pool (runCampaign) and a queue worker on another
 * machine (runBackfillWorker) hand it chunks of work and it runs them through one request gate.
 * It stops taking requests when the endpoint fails `maxConsecutiveFailures` times in a row, is
 * misconfigured, or `stop` is called; whatever was not sent then stays pending in the outcome.
 */
export interface ChunkRunner {
  /** Runs one chunk's arms; `signal` aborted stops this chunk alone from sending more. */
  run(work: readonly ChunkWork[], signal?: AbortSignal): Promise<ChunkOutcome>;
  stop(reason: string): void;
  /** Why the runner stopped, or null while it runs. */
  readonly stoppedBecause: string | null;
  /** Whether it stopped because the endpoint is misconfigured (every request would fail the same way). */
  readonly misconfigured: boolean;
  /** The campaign's plan the runner was made for (its item defaults expand stored items). */
  readonly plan: CampaignPlan;
}

export function createChunkRunner(options: ChunkRunnerOptions): ChunkRunner {
  const now = options.now ?? Date.now;
  const gate = createRequestGate({ concurrency: options.concurrency ?? 16, ratePerSecond: options.ratePerSecond ?? null });
  const maxFailures = options.maxConsecutiveFailures ?? 8;
  let consecutiveFailures = 0;
  let stoppedBecause: string | null = null;
  let misconfigured = false;
  const refusal = (signal?: AbortSignal) => stoppedBecause ?? (signal?.aborted ? String(signal.reason ?? 'released') : null);

  return {
    plan: options.plan,
    get stoppedBecause() {
      return stoppedBecause;
    },
    get misconfigured() {
      return misconfigured;
    },
    stop(reason) {
      stoppedBecause ??= reason;
    },
    run(work, signal) {
      return executeChunk({
        store: options.store,
        campaignId: options.campaignId,
        plan: options.plan,
        work,
        endpointFor: options.endpointFor,
        decideByFork: options.decideByFork,
        gate: async () => {
          const before = refusal(signal);
          if (before !== null) throw new EndpointError(before, { retryable: true });
          const release = await gate();
          // The run may have stopped while this arm waited for its slot: do not send it then.
          const after = refusal(signal);
          if (after !== null) {
            release();
            throw new EndpointError(after, { retryable: true });
          }
          return release;
        },
        now,
        onAnswer: () => {
          consecutiveFailures = 0;
          options.onAnswer?.();
        },
        onRetryableFailure: (error) => {
          // A refusal of ours (stopped, released) is not the endpoint failing.
          if (refusal(signal) !== null) return;
          if (++consecutiveFailures >= maxFailures && stoppedBecause === null) stoppedBecause = error.message;
        },
        onMisconfigured: (error) => {
          if (stoppedBecause === null) misconfigured = true;
          stoppedBecause ??= error.message;
        },
      });
    },
  };
}

/**
 * The arms of one chunk still without a result, read from the store: what a worker that took the
 * chunk from the queue has to do. A chunk that another worker finished (or half finished before it
 * was killed) comes back with only what is left.
 */
export async function loadChunkWork(store: Store, campaignId: string, chunk: number, plan: CampaignPlan): Promise<ChunkWork[]> {
  const records = await store.campaigns.items(campaignId, [chunk]);
  const ids = new Set(records.map((record) => record.itemId));
  const done = new Set<string>();
  // A backend may ignore the chunk filter and return more; only this chunk's items count.
  for (const result of await store.campaigns.results(campaignId, [chunk])) if (ids.has(result.itemId)) done.add(`${result.itemId}\n${result.arm}`);
  const work: ChunkWork[] = [];
  for (const record of records) {
    const arms = record.arms.filter((arm: CampaignArm) => !done.has(`${record.itemId}\n${arm}`));
    if (arms.length)
      work.push({
        itemId: record.itemId,
        item: parseStored(campaignItemSchema(), expandItem(record.itemId, record.item, plan.itemDefaults), `Item ${record.itemId} of campaign ${campaignId}`),
        arms,
      });
  }
  return work;
}
