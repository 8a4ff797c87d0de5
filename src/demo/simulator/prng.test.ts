import { describe, expect, it } from 'vitest';
import { createSeededRandom, standardGumbel } from './prng.ts';

describe('createSeededRandom', () => {
  it('replays the same sequence for the same seed and a different one for another seed', () => {
    const first = createSeededRandom('seed-a');
    const again = createSeededRandom('seed-a');
    const other = createSeededRandom('seed-b');
    const draws = Array.from({ length: 5 }, () => first.next());
    expect(Array.from({ length: 5 }, () => again.next())).toEqual(draws);
    expect(Array.from({ length: 5 }, () => other.next())).not.toEqual(draws);
  });

  it('draws uniformly from [0, 1)', () => {
    const random = createSeededRandom('uniform');
    const bins = new Array<number>(10).fill(0);
    let outside = 0;
    for (let index = 0; index < 100_000; index++) {
      const value = random.next();
      if (value < 0 || value >= 1) outside += 1;
      else bins[Math.floor(value * 10)] = (bins[Math.floor(value * 10)] ?? 0) + 1;
    }
    expect(outside).toBe(0);
    for (const count of bins) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});

describe('standardGumbel', () => {
  it('has the Gumbel mean (Euler-Mascheroni constant) and variance pi^2/6', () => {
    const random = createSeededRandom('gumbel');
    const draws = Array.from({ length: 200_000 }, () => standardGumbel(random));
    const mean = draws.reduce((sum, value) => sum + value, 0) / draws.length;
    const variance = draws.reduce((sum, value) => sum + (value - mean) ** 2, 0) / draws.length;
    expect(mean).toBeCloseTo(0.5772, 1);
    expect(variance).toBeCloseTo(Math.PI ** 2 / 6, 1);
    expect(draws.every(Number.isFinite)).toBe(true);
  });
});
