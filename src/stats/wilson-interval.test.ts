import { describe, expect, it } from 'vitest';
import { formatProportion, wilsonInterval } from './wilson-interval.ts';

describe('wilsonInterval', () => {
  // Reference values computed from the closed form (Wilson 1927) and cross-checked by hand.
  it.each([
    [7, 200, 0.017, 0.0705],
    [0, 50, 0, 0.0714],
    [50, 50, 0.9286, 1],
    [1, 10, 0.0179, 0.4042],
    [500, 1000, 0.4691, 0.5309],
  ])('%i of %i → [%f, %f]', (successes, trials, low, high) => {
    const estimate = wilsonInterval(successes, trials);
    expect(estimate.low).toBeCloseTo(low, 3);
    expect(estimate.high).toBeCloseTo(high, 3);
    expect(estimate.rate).toBe(successes / trials);
  });

  it('widens with confidence and narrows with trials', () => {
    const at90 = wilsonInterval(10, 100, 0.9);
    const at99 = wilsonInterval(10, 100, 0.99);
    expect(at99.high - at99.low).toBeGreaterThan(at90.high - at90.low);
    const more = wilsonInterval(100, 1000);
    expect(more.high - more.low).toBeLessThan(wilsonInterval(10, 100).high - wilsonInterval(10, 100).low);
  });

  it('refuses impossible counts', () => {
    expect(() => wilsonInterval(5, 3)).toThrow(TypeError);
    expect(() => wilsonInterval(1.5, 3)).toThrow(TypeError);
    expect(() => wilsonInterval(1, 3, 0.8)).toThrow(TypeError);
  });

  it('formats the way reports print it', () => {
    expect(formatProportion(wilsonInterval(7, 200))).toBe('7 of 200, 3.5% (95% CI 1.7-7.0%)');
  });
});
