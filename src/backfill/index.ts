export type { AuditProblem } from '../store/index.ts';
// The audit chain's check lives with the store, whose verify vouches for corrections by it.
export { verifyAuditChain } from '../store/index.ts';
export type { TriageOutcome } from './apply-triage.ts';
export { applyTriage } from './apply-triage.ts';
export { backfillHeadline, renderBackfillReport } from './backfill-report.ts';
export type { EndpointSources } from './campaign-endpoints.ts';
export { campaignEndpoints } from './campaign-endpoints.ts';
export type { ArmResult, CampaignItem, CampaignPlan, Correction, ExclusionReason, RedecideMode } from './campaign-types.ts';
export { CampaignNotFoundError, EXCLUSION_REASONS, NO_DECISION, REDECIDE_MODES } from './campaign-types.ts';
export type { ChunkRunner, ChunkRunnerOptions } from './chunk-runner.ts';
export { createChunkRunner, loadChunkWork } from './chunk-runner.ts';
export type { CampaignComparison, Flip, RateRow } from './compare-campaign.ts';
export { compareCampaign } from './compare-campaign.ts';
// The distributed path: pg-boss loads only when a queue is opened.
export type {
  ArmProgress,
  BackfillQueue,
  BackfillQueueOptions,
  BackfillWorkerOptions,
  BackfillWorkerSummary,
  CampaignEndpoints,
  CampaignStatus,
  EnqueueSummary,
  WorkerEvent,
} from './distributed/index.ts';
export {
  campaignStatus,
  DEFAULT_JOB_TIMEOUT_SECONDS,
  DEFAULT_QUEUE_POOL_SIZE,
  describePostgresFailure,
  enqueueCampaign,
  openBackfillQueue,
  redactedUrl,
  runBackfillWorker,
} from './distributed/index.ts';
export type { ChunkOutcome, ChunkWork, EndpointFor, ExecuteChunkOptions, RequestGate } from './execute-chunk.ts';
export { executeChunk, modelForArm } from './execute-chunk.ts';
export type { ForkDecider, ForkDeciderOptions } from './fork-decider.ts';
export { createForkDecider } from './fork-decider.ts';
export type { LoadedCampaign } from './load-campaign.ts';
export { loadCampaign, loadCampaignPlan } from './load-campaign.ts';
export type { PlanCampaignOptions, PlannedCampaign } from './plan-campaign.ts';
export { planCampaign } from './plan-campaign.ts';
export type { CorrectionHandler, RemediationOutcome, RemediationPlanEntry } from './remediation.ts';
export { applyRemediation, DEFAULT_HANDLER_TIMEOUT_MS, planRemediation, remediationCsv, remediationJsonl } from './remediation.ts';
export type { ReviewQueue, Verdict } from './review.ts';
export { recordVerdict, reviewQueue, VERDICTS } from './review.ts';
export type { CampaignRunSummary, RunCampaignOptions, RunProgress } from './run-campaign.ts';
export { runCampaign } from './run-campaign.ts';
export type { FlipFacts, TriageAction, TriagePolicy } from './triage-policy.ts';
export { loadTriagePolicy, parseTriagePolicy, TRIAGE_ACTIONS, TriagePolicyError, triageFlip } from './triage-policy.ts';
export type { WrittenCampaignReport } from './write-campaign-report.ts';
export { defaultReportPath, writeCampaignReport } from './write-campaign-report.ts';
