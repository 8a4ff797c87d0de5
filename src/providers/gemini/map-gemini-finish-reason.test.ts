import { describe, expect, it } from 'vitest';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.ts';

describe('mapGeminiFinishReason', () => {
  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool-calls'],
    ['MAX_TOKENS', false, 'length'],
    ['SAFETY', false, 'content-filter'],
    ['RECITATION', false, 'content-filter'],
    ['MALFORMED_FUNCTION_CALL', false, 'error'],
    ['OTHER', false, 'other'],
    [undefined, false, 'other'],
  ] as const)('%s (function calls: %s) -> %s', (raw, hasFunctionCalls, unified) => {
    expect(mapGeminiFinishReason(raw, hasFunctionCalls)).toBe(unified);
  });
});
