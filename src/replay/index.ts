export type { Divergence, DivergenceCode, FieldDifference } from './divergence.ts';
export { DIVERGENCE_CODES, DIVERGENCE_TITLES, EgressBlockedError, ReplayDivergenceError } from './divergence.ts';
export { diffJson } from './json-diff.ts';
export type { ReplayOptions, ReplayResult } from './replay-run.ts';
export { replayRun, replayRuns } from './replay-run.ts';
