import { describe, expect, it } from 'vitest';
import { formatDifference, newcombeDifference } from './difference-interval.ts';
import { wilsonInterval } from './wilson-interval.ts';

describe('newcombeDifference', () => {
  it("matches Newcombe's worked example (56/70 vs 48/80: 0.20, 0.0524 to 0.3339)", () => {
    // Newcombe (1998), Statistics in Medicine 17:873-890, table II, example (a), method 10.
    const estimate = newcombeDifference(wilsonInterval(56, 70), wilsonInterval(48, 80));
    expect(estimate.difference).toBeCloseTo(0.2, 10);
    expect(estimate.low).toBeCloseTo(0.0524, 3);
    expect(estimate.high).toBeCloseTo(0.3339, 3);
  });

  it('contains zero when two equal rates are compared, and is clamped to [-1, 1]', () => {
    const same = newcombeDifference(wilsonInterval(10, 200), wilsonInterval(10, 200));
    expect(same.low).toBeLessThan(0);
    expect(same.high).toBeGreaterThan(0);
    const extreme = newcombeDifference(wilsonInterval(5, 5), wilsonInterval(0, 5));
    expect(extreme.high).toBeLessThanOrEqual(1);
  });

  it('refuses estimates of different confidence levels', () => {
    expect(() => newcombeDifference(wilsonInterval(1, 10, 0.9), wilsonInterval(1, 10))).toThrow(/same confidence/);
  });

  it('formats signed points', () => {
    expect(formatDifference({ difference: 0.03, low: 0.016, high: 0.046, confidence: 0.95 })).toBe('+3.0 points (95% CI +1.6 to +4.6)');
    expect(formatDifference({ difference: -0.01, low: -0.02, high: 0.005, confidence: 0.95 })).toBe('-1.0 points (95% CI -2.0 to +0.5)');
  });
});
