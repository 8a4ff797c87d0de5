import { createHash } from 'node:crypto';
import type PgBoss from 'pg-boss';
import { describePostgresFailure, parsePostgresUrl } from './postgres-failure.ts';

/** The pg-boss queue every campaign's chunks go on; a job's data says which campaign and chunk. */
export const BACKFILL_QUEUE = 'retrial-backfill';

/** Defaults, documented in `retrial worker --help` and `retrial backfill run --help`. */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 600;
export const DEFAULT_QUEUE_POOL_SIZE = 4;
/** Attempts of one chunk before its job is left `failed` (rerunning `backfill run --distributed` requeues it). */
export const JOB_RETRY_LIMIT = 100;

export interface ChunkJob {
  campaignId: string;
  chunk: number;
}

/** A job this process holds: run its chunk, then complete or release it. */
export interface HeldJob extends ChunkJob {
  id: string;
  /** When the queue will give the chunk to another worker if this one has not finished: ms since epoch. */
  expiresAt: number;
}

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export interface BackfillQueueOptions {
  /** postgres:// URL of the database that holds the queue (pg-boss's `pgboss` schema). */
  url: string;
  /** Connections this process opens to it at most (default 4). */
  poolSize?: number;
  /**
   * Whether this process runs pg-boss's maintenance: moving jobs whose worker died (active past
   * their timeout) back to the queue. Workers do; a process that only enqueues need not.
   */
  supervise?: boolean;
  /** How often maintenance runs, in seconds (default 10; pg-boss's own default is 120). */
  maintenanceIntervalSeconds?: number;
  /** Errors pg-boss reports in the background (a lost connection while the server restarts). */
  onError?: (error: unknown) => void;
}

/**
 * The chunks of backfill campaigns as jobs on pg-boss in PostgreSQL. pg-boss is loaded here, when a
 * queue is opened, so `import('retrial')` and the other commands never load it. Each chunk's job
 * has an id derived from (campaign, chunk), so enqueuing a campaign twice adds nothing.
 */
export interface BackfillQueue {
  readonly url: string;
  /** Adds jobs for these chunks; chunks that already have a job keep it (a failed or cancelled one is put back). */
  enqueue(campaignId: string, chunks: readonly number[], options: { jobTimeoutSeconds: number }): Promise<{ added: number; requeued: number }>;
  /** Takes the next job, or undefined when none is waiting. */
  take(): Promise<HeldJob | undefined>;
  complete(job: HeldJob): Promise<void>;
  /** Puts the job back for any worker to take again at once (counts as one attempt). */
  release(job: HeldJob, reason: string): Promise<void>;
  /** The state of each chunk's job of a campaign (chunks without a job are absent). */
  states(campaignId: string): Promise<Map<number, JobState>>;
  close(): Promise<void>;
}

/** A UUID derived from (campaign, chunk): the same chunk always gets the same job id. */
export function chunkJobId(campaignId: string, chunk: number): string {
  const hex = createHash('sha256').update(`retrial-backfill\n${campaignId}\n${chunk}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export async function openBackfillQueue(options: BackfillQueueOptions): Promise<BackfillQueue> {
  parsePostgresUrl(options.url, '--queue');
  const { default: PgBossClass } = await import('pg-boss');
  // `pool_size` sizes the store's pool when the queue shares the store's URL; it is not a PostgreSQL setting.
  const connection = new URL(options.url);
  connection.searchParams.delete('pool_size');
  const boss: PgBoss = new PgBossClass({
    connectionString: connection.toString(),
    max: options.poolSize ?? DEFAULT_QUEUE_POOL_SIZE,
    application_name: 'retrial-backfill',
    supervise: options.supervise ?? false,
    schedule: false,
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 10,
  });
  // Without a listener an 'error' event (an idle connection dropped by a restart) would end the process.
  boss.on('error', (error) => options.onError?.(error));
  try {
    await boss.start();
    await boss.createQueue(BACKFILL_QUEUE, { name: BACKFILL_QUEUE, retryLimit: JOB_RETRY_LIMIT, retryDelay: 0 });
  } catch (error) {
    await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
    throw describePostgresFailure(error, options.url, 'the backfill queue');
  }
  const db = boss.getDb();

  return {
    url: options.url,
    async enqueue(campaignId, chunks, { jobTimeoutSeconds }) {
      if (!chunks.length) return { added: 0, requeued: 0 };
      const ids = chunks.map((chunk) => chunkJobId(campaignId, chunk));
      const before = new Set(
        (await db.executeSql(`SELECT id FROM pgboss.job WHERE name = $1 AND id = ANY($2::uuid[])`, [BACKFILL_QUEUE, ids])).rows.map((row) => row.id as string),
      );
      await boss.insert(
        chunks.map((chunk, index) => ({
          id: ids[index] as string,
          name: BACKFILL_QUEUE,
          data: { campaignId, chunk } satisfies ChunkJob,
          expireInSeconds: jobTimeoutSeconds,
          retryLimit: JOB_RETRY_LIMIT,
          retryDelay: 0,
        })),
      );
      // A job that gave up (or was cancelled) is put back: the chunk still has work.
      const stuck = (
        await db.executeSql(`SELECT id, state FROM pgboss.job WHERE name = $1 AND id = ANY($2::uuid[]) AND state IN ('failed', 'cancelled')`, [
          BACKFILL_QUEUE,
          ids.filter((id) => before.has(id)),
        ])
      ).rows as Array<{ id: string; state: JobState }>;
      const failed = stuck.filter((row) => row.state === 'failed').map((row) => row.id);
      const cancelled = stuck.filter((row) => row.state === 'cancelled').map((row) => row.id);
      if (failed.length) await boss.retry(BACKFILL_QUEUE, failed);
      if (cancelled.length) await boss.resume(BACKFILL_QUEUE, cancelled);
      return { added: ids.filter((id) => !before.has(id)).length, requeued: stuck.length };
    },
    async take() {
      const [job] = await boss.fetch<ChunkJob>(BACKFILL_QUEUE, { batchSize: 1 });
      if (!job) return undefined;
      return { id: job.id, campaignId: job.data.campaignId, chunk: job.data.chunk, expiresAt: Date.now() + job.expireInSeconds * 1000 };
    },
    async complete(job) {
      await boss.complete(BACKFILL_QUEUE, job.id);
    },
    async release(job, reason) {
      await boss.fail(BACKFILL_QUEUE, job.id, { released: reason });
    },
    async states(campaignId) {
      const rows = (
        await db.executeSql(`SELECT (data->>'chunk')::int AS chunk, state FROM pgboss.job WHERE name = $1 AND data->>'campaignId' = $2`, [
          BACKFILL_QUEUE,
          campaignId,
        ])
      ).rows as Array<{ chunk: number; state: JobState }>;
      return new Map(rows.map((row) => [row.chunk, row.state]));
    },
    async close() {
      await boss.stop({ graceful: false, wait: true });
    },
  };
}
