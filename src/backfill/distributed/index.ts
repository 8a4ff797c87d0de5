export type { BackfillQueue, BackfillQueueOptions, ChunkJob, HeldJob, JobState } from './backfill-queue.ts';
export { BACKFILL_QUEUE, chunkJobId, DEFAULT_JOB_TIMEOUT_SECONDS, DEFAULT_QUEUE_POOL_SIZE, JOB_RETRY_LIMIT, openBackfillQueue } from './backfill-queue.ts';
export type { ArmProgress, CampaignStatus } from './campaign-status.ts';
export { campaignStatus } from './campaign-status.ts';
export type { EnqueueSummary } from './enqueue-campaign.ts';
export { enqueueCampaign } from './enqueue-campaign.ts';
export { describePostgresFailure, isTransientPostgresFailure, parsePostgresUrl, redactedUrl } from './postgres-failure.ts';
export type { BackfillWorkerOptions, BackfillWorkerSummary, CampaignEndpoints, WorkerEvent } from './run-backfill-worker.ts';
export { runBackfillWorker } from './run-backfill-worker.ts';
