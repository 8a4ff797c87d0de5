/**
 * retrial's library surface: record an agent's runs, read them back, verify and move tapes.
 * Parts live in their own folders (tape, store, providers, record, inspect, demo); this file only
 * re-exports what a user of the library needs (backfill included: plan, run, compare, triage, remediate).
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
export type { AgentContext, AgentDefinition, DecisionInput, PiiRule, Recorder, RecorderOptions, RunOptions } from './record/index.ts';
export { createRecorder, createRedactor, defineAgent } from './record/index.ts';
export type { DecisionFilter, DecisionRecord, RunFilter, RunSummary, Store, StoreStats } from './store/index.ts';
export { createMemoryStore, exportRun, importRun, openSqliteStore, openStore, RunNotFoundError, StoreError, verifyRun, verifyStore } from './store/index.ts';
export type { RunHeader, RunRecord, TapeEvent } from './tape/index.ts';
export { RetrialError, TAPE_FORMAT_VERSION, TapeFormatError } from './tape/index.ts';
