export type { ProportionEstimate } from './wilson-interval.ts';
export { formatProportion, wilsonInterval } from './wilson-interval.ts';
