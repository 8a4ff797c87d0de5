/**
 * Timing and summary helpers for the record benchmark.
 *
 * The clock is `process.hrtime.bigint()` on purpose: inside a retrial run `performance.now` and
 * `Date.now` are routed through the recorder (and recorded as clock events), so timing a call
 * with them would both disturb the tape and add the recorder's own cost to the measurement.
 */

/** Milliseconds from an unpatched monotonic clock. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Times one async call; returns its duration in ms. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const start = nowMs();
  await fn();
  return nowMs() - start;
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples (q in 0..1). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((total, value) => total + value, 0) / Math.max(1, sorted.length);
  return { count: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), mean };
}

/** Milliseconds with 3 decimals (microsecond resolution is what the added latency needs). */
export function ms(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : 'n/a';
}

/** A ratio like "0.42x", or "n/a" when the denominator is not positive (peer added nothing measurable). */
export function ratio(numerator: number, denominator: number): string {
  return denominator > 0 && Number.isFinite(numerator) ? `${(numerator / denominator).toFixed(2)}x` : 'n/a';
}

export function bytes(value: number): string {
  return value.toLocaleString('en-US');
}

export function percentOf(value: number, whole: number): string {
  return whole > 0 ? `${((100 * value) / whole).toFixed(1)}%` : 'n/a';
}

/** PASS / MISS tag for a target line. */
export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}
