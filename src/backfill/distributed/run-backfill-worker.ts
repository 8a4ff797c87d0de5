import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../store/index.ts';
import { RetrialError } from '../../tape/index.ts';
import type { CampaignPlan } from '../campaign-types.ts';
import { type ChunkRunner, createChunkRunner, loadChunkWork } from '../chunk-runner.ts';
import type { EndpointFor } from '../execute-chunk.ts';
import type { ForkDecider } from '../fork-decider.ts';
import { loadCampaignPlan } from '../load-campaign.ts';
import type { BackfillQueue, HeldJob } from './backfill-queue.ts';
import { isTransientPostgresFailure } from './postgres-failure.ts';

/** How a worker reaches the models of a campaign: built once per campaign it meets. */
export interface CampaignEndpoints {
  endpointFor: EndpointFor;
  decideByFork?: ForkDecider;
}

export type WorkerEvent =
  | { type: 'chunk-started'; campaignId: string; chunk: number; arms: number }
  | { type: 'chunk-finished'; campaignId: string; chunk: number; written: number }
  | { type: 'chunk-released'; campaignId: string; chunk: number; written: number; pending: number; reason: string }
  | { type: 'queue-unreachable'; message: string };

export interface BackfillWorkerOptions {
  store: Store;
  queue: BackfillQueue;
  endpointsFor: (campaignId: string, plan: CampaignPlan) => Promise<CampaignEndpoints>;
  /** Requests in flight at once in this worker (default 16). */
  concurrency?: number;
  /** Requests started per second by this worker, or null for no limit. */
  ratePerSecond?: number | null;
  /** Chunks (jobs) held at once (default 2), so the request gate stays full across one chunk's tail. */
  jobs?: number;
  /** Aborted (SIGTERM): stop sending, write what was answered, put unfinished chunks back, return. */
  signal: AbortSignal;
  /** Return once the queue has nothing left to take (default: keep waiting for new campaigns). */
  exitWhenIdle?: boolean;
  /** How long to wait before asking an empty queue again, ms (default 1000). */
  idlePollMs?: number;
  onEvent?: (event: WorkerEvent) => void;
  now?: () => number;
}

export interface BackfillWorkerSummary {
  chunksFinished: number;
  chunksReleased: number;
  written: number;
}

/**
 * A queue worker: takes chunk jobs from the queue and runs each with the same chunk runner as the
 * local pool. A chunk whose arms all have results is completed; one left with pending arms (the
 * endpoint failing, the worker stopping, its timeout near) is put back for any worker to take. A
 * worker killed outright holds its job until the job's timeout, then the queue hands it out again;
 * results are keyed by (campaign, item, arm) and the first one written wins, so nothing is done twice
 * in the store. A misconfigured endpoint (bad key or URL) ends the worker with that error, as every
 * chunk would fail the same way. PostgreSQL going away (a restart) only pauses the worker: it retries until it is back.
 */
export async function runBackfillWorker(options: BackfillWorkerOptions): Promise<BackfillWorkerSummary> {
  const now = options.now ?? Date.now;
  const { store, queue, signal } = options;
  const summary: BackfillWorkerSummary = { chunksFinished: 0, chunksReleased: 0, written: 0 };
  const runners = new Map<string, Promise<ChunkRunner>>();
  let fatal: Error | undefined;
  let pauseUntil = 0;
  let busy = 0;
  let lastUnreachable = 0;

  const unreachable = (error: unknown) => {
    // One line per ten seconds at most while the server is away.
    if (now() - lastUnreachable < 10_000) return;
    lastUnreachable = now();
    options.onEvent?.({ type: 'queue-unreachable', message: (error as Error).message });
  };
  const wait = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);

  const runnerFor = (campaignId: string): Promise<ChunkRunner> => {
    let runner = runners.get(campaignId);
    if (!runner) {
      runner = (async () => {
        const { plan } = await loadCampaignPlan(store, campaignId);
        const endpoints = await options.endpointsFor(campaignId, plan);
        return createChunkRunner({ store, campaignId, plan, ...endpoints, concurrency: options.concurrency, ratePerSecond: options.ratePerSecond, now });
      })();
      runner.catch(() => runners.delete(campaignId));
      runners.set(campaignId, runner);
    }
    return runner;
  };

  /** Retries a queue call while PostgreSQL is away, until `until`; false when it never went through. */
  const persist = async (call: () => Promise<void>, until: number): Promise<boolean> => {
    for (;;) {
      try {
        await call();
        return true;
      } catch (error) {
        if (!isTransientPostgresFailure(error) || now() >= until) return false;
        unreachable(error);
        await sleep(500);
      }
    }
  };

  const runJob = async (job: HeldJob) => {
    const controller = new AbortController();
    const onStop = () => controller.abort('the worker is stopping');
    signal.addEventListener('abort', onStop, { once: true });
    // Give the chunk back before the queue would hand it to another worker while this one still runs it.
    const margin = Math.min(30_000, Math.max(250, (job.expiresAt - now()) / 10));
    const timer = setTimeout(() => controller.abort('its job timeout was near'), Math.max(0, job.expiresAt - now() - margin));
    let written = 0;
    let pending = 0;
    let reason: string | null = null;
    try {
      const runner = await runnerFor(job.campaignId);
      const work = await loadChunkWork(store, job.campaignId, job.chunk, runner.plan);
      options.onEvent?.({ type: 'chunk-started', campaignId: job.campaignId, chunk: job.chunk, arms: work.reduce((sum, item) => sum + item.arms.length, 0) });
      const outcome = await runner.run(work, controller.signal);
      written = outcome.written;
      pending = outcome.pending;
      if (pending) {
        reason = controller.signal.aborted ? String(controller.signal.reason) : (runner.stoppedBecause ?? 'some arms are still pending');
        if (runner.misconfigured) fatal ??= new RetrialError({ code: 'ENDPOINT', message: runner.stoppedBecause ?? reason });
        else if (runner.stoppedBecause !== null) {
          // The endpoint is failing: pause, and start the campaign afresh after the pause.
          runners.delete(job.campaignId);
          pauseUntil = now() + 10_000;
        }
      }
    } catch (error) {
      reason = (error as Error).message;
      // PostgreSQL away (a restart), or a chunk this worker cannot run (its campaign is not in this
      // store): give the chunk back and wait a moment instead of taking it again at once.
      if (isTransientPostgresFailure(error)) unreachable(error);
      pauseUntil = now() + 1_000;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    }
    summary.written += written;
    if (reason === null) {
      // If the queue stays away past the timeout, the job expires and whoever takes it finds nothing left to do.
      await persist(() => queue.complete(job), job.expiresAt);
      summary.chunksFinished++;
      options.onEvent?.({ type: 'chunk-finished', campaignId: job.campaignId, chunk: job.chunk, written });
    } else {
      await persist(() => queue.release(job, reason as string), job.expiresAt);
      summary.chunksReleased++;
      options.onEvent?.({ type: 'chunk-released', campaignId: job.campaignId, chunk: job.chunk, written, pending, reason });
    }
  };

  const slot = async () => {
    while (!signal.aborted && fatal === undefined) {
      if (pauseUntil > now()) {
        await wait(pauseUntil - now());
        continue;
      }
      let job: HeldJob | undefined;
      try {
        job = await queue.take();
      } catch (error) {
        unreachable(error);
        await wait(1_000);
        continue;
      }
      if (!job) {
        if (options.exitWhenIdle && busy === 0) return;
        await wait(options.idlePollMs ?? 1_000);
        continue;
      }
      busy++;
      try {
        await runJob(job);
      } finally {
        busy--;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 2) }, slot));
  if (fatal) throw fatal;
  return summary;
}
