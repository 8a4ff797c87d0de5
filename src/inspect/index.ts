export { loadTape } from './load-tape.ts';
export type { LoadedTape } from './load-tape.ts';
export { buildTimeline, modelRequestContext, summarizeEvent } from './timeline.ts';
export type { TimelineRow } from './timeline.ts';
export { describeStep, StepNotFoundError } from './step-detail.ts';
export type { StepDetail } from './step-detail.ts';
