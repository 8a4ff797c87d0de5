export type { DifferenceEstimate } from './difference-interval.ts';
export { formatDifference, newcombeDifference } from './difference-interval.ts';
export type { ProportionEstimate } from './wilson-interval.ts';
export { formatProportion, wilsonInterval } from './wilson-interval.ts';
