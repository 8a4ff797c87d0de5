export type { LoadedTape } from './load-tape.ts';
export { loadTape, readWireRequestTexts } from './load-tape.ts';
export type { StepDetail } from './step-detail.ts';
export { describeStep, StepNotFoundError } from './step-detail.ts';
export type { TimelineRow } from './timeline.ts';
export { buildTimeline, modelRequestContext, summarizeEvent } from './timeline.ts';
