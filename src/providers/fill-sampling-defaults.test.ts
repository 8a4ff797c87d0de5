import { describe, expect, it } from 'vitest';
import { fillSamplingDefaults } from './fill-sampling-defaults.ts';

describe('fillSamplingDefaults', () => {
  it('marks sent values, fills defaults for absent and null ones, and ignores unrelated fields', () => {
    expect(fillSamplingDefaults({ temperature: 0, top_p: null, model: 'm' }, { temperature: 1, top_p: 1, seed: null })).toEqual({
      temperature: { value: 0, source: 'sent' },
      top_p: { value: 1, source: 'default' },
      seed: { value: null, source: 'default' },
    });
  });
});
