/**
 * Wilson score interval for a binomial proportion. Unlike the normal approximation it stays
 * inside [0, 1] and keeps close to its nominal coverage at the small counts and rare events this
 * product reports (7 of 200), which is why every rate retrial prints uses it.
 */
export interface ProportionEstimate {
  successes: number;
  trials: number;
  /** successes / trials, or 0 when there were no trials. */
  rate: number;
  /** Lower and upper bound of the interval. */
  low: number;
  high: number;
  /** Confidence level, e.g. 0.95. */
  confidence: number;
}

/** Two-sided z for the confidence levels we print. */
const Z: Record<string, number> = { '0.9': 1.6448536269514722, '0.95': 1.959963984540054, '0.99': 2.5758293035489004 };

export function wilsonInterval(successes: number, trials: number, confidence = 0.95): ProportionEstimate {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || trials < 0 || successes > trials) {
    throw new TypeError(`wilsonInterval: need whole numbers with 0 <= successes <= trials, got ${successes} of ${trials}.`);
  }
  const z = Z[String(confidence)];
  if (z === undefined) throw new TypeError(`wilsonInterval: confidence must be one of ${Object.keys(Z).join(', ')}.`);
  if (trials === 0) return { successes, trials, rate: 0, low: 0, high: 1, confidence };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const center = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { successes, trials, rate: p, low: Math.max(0, center - half), high: Math.min(1, center + half), confidence };
}

/** "7 of 200, 3.5% (95% CI 1.7-7.1%)" */
export function formatProportion(estimate: ProportionEstimate, digits = 1): string {
  const percent = (value: number) => (value * 100).toFixed(digits);
  return `${estimate.successes} of ${estimate.trials}, ${percent(estimate.rate)}% (${Math.round(estimate.confidence * 100)}% CI ${percent(estimate.low)}-${percent(estimate.high)}%)`;
}
