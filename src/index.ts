/**
 * retrial's library surface: record an agent's runs, read them back, verify and move tapes.
 * Parts live in their own folders (tape, store, providers, record, inspect, replay, demo); this file
 * only re-exports what a user of the library needs (replay, resample, fork and explain included).
 * Apart, so that a service's import does not load them: backfill's functions in `retrial/backfill`
 * (their types are here too), the simulator in `retrial/simulator`, test helpers in `retrial/testing`.
 */

export type {
  CampaignComparison,
  CampaignPlan,
  Correction,
  CorrectionHandler,
  PlanCampaignOptions,
  RunCampaignOptions,
  TriagePolicy,
} from './backfill/index.ts';
export type { LoadedTape, StepDetail, TimelineRow } from './inspect/index.ts';
export { buildTimeline, describeStep, loadTape } from './inspect/index.ts';
export type {
  AgentContext,
  AgentDefinition,
  AgentRecording,
  CollectorOptions,
  DecisionInput,
  HandledRun,
  HandleOptions,
  PiiRule,
  RecordAgentOptions,
  Recorder,
  RecorderHealth,
  RecorderOptions,
  RecordingFailure,
  RecordingRecorder,
  RunOptions,
} from './record/index.ts';
export {
  createRecorder,
  createRedactor,
  createRunId,
  defaultRedactionSalt,
  defineAgent,
  loadRedactionSalt,
  REDACTION_SALT_VARIABLE,
  recordAgent,
  redactionSaltPath,
} from './record/index.ts';
export type {
  CounterfactualResult,
  Divergence,
  DivergenceCode,
  ExplainFactor,
  ExplainOptions,
  ExplainResult,
  FactorComparison,
  FieldDifference,
  ForkOptions,
  ForkOverrides,
  ForkResult,
  LoadAgentModuleOptions,
  Replayer,
  ReplayerOptions,
  ReplayOptions,
  ReplayResult,
  ResampleClass,
  ResampleOptions,
  ResampleResult,
} from './replay/index.ts';
export {
  AgentCreateError,
  createReplayer,
  DIVERGENCE_CODES,
  DIVERGENCE_TITLES,
  EgressBlockedError,
  EXPLAIN_FACTORS,
  ExplainNotReproducedError,
  explainRun,
  forkRun,
  loadAgentModule,
  ReplayDivergenceError,
  renderDivergence,
  replayRun,
  resampleStep,
} from './replay/index.ts';
export type {
  DecisionFilter,
  DecisionRecord,
  LedgerVerification,
  RunFilter,
  RunSummary,
  RunVerification,
  Store,
  StoreStats,
  VerifyProblem,
} from './store/index.ts';
export {
  createMemoryStore,
  exportRun,
  importRun,
  openSqliteStore,
  openStore,
  RunNotFoundError,
  StoreError,
  verifyLedger,
  verifyRun,
  verifyStore,
} from './store/index.ts';
export type { RunHeader, RunRecord, TapeEvent } from './tape/index.ts';
export { RetrialError, TAPE_FORMAT_VERSION, TapeFormatError } from './tape/index.ts';
