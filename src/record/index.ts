export type { AgentContext, AgentDefinition } from './agent-module.ts';
export { defineAgent } from './agent-module.ts';
export { replayedArguments } from './call-arguments.ts';
export { captureAgentSite, captureCallSite, portableSiteName } from './call-site.ts';
export { COLLECTOR_DEFAULTS, type CollectorOptions } from './collector-sink.ts';
export {
  COLLECTOR_BATCHES_PATH,
  type CollectorAccepted,
  type CollectorErrorBody,
  type CollectorItem,
  type CollectorRequest,
  type WireBlob,
  type WireWriteBatch,
} from './collector-wire.ts';
export { jsonSnapshot } from './json-snapshot.ts';
export { comparableRequest } from './model-event-builder.ts';
export type { NondeterminismReads } from './patch-globals.ts';
export { installGlobalPatches, originals } from './patch-globals.ts';
export type { AgentRecording, HandledRun, HandleOptions, RecordAgentOptions } from './record-agent.ts';
export { recordAgent } from './record-agent.ts';
export type { DecisionInput, Recorder, RecorderOptions, RecordingRecorder, RunOptions, ServeHooks } from './recorder.ts';
export { createRecorder, createRunId, RECORDER_NAME } from './recorder.ts';
export type { RecorderHealth, RecordingFailure } from './recording-failure.ts';
export { hostOf, redactRequestBody } from './recording-fetch.ts';
export type { PiiRule, RedactionOptions, Redactor } from './redaction.ts';
export { createRedactor, legacyArgsHash } from './redaction.ts';
export {
  assertRedactionSalt,
  defaultRedactionSalt,
  loadOrCreateRedactionSalt,
  loadRedactionSalt,
  REDACTION_SALT_FILE,
  REDACTION_SALT_VARIABLE,
  redactionSaltPath,
} from './redaction-salt.ts';
export type { RunScope } from './run-scope.ts';
export { assertInRun, maybeCurrentRun, runInScope, runOutsideScope, takeCausalKey } from './run-scope.ts';
export { RunTapeWriter } from './run-tape-writer.ts';
export { SeededStream } from './seeded-random.ts';
