import { describe, expect, it } from 'vitest';
import { parallelCallsResponse } from './__fixtures__/gemini-responses.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';

describe('gemini convertToCanonicalResponse', () => {
  it('converts text and several function calls, with thinking counted as output', () => {
    expect(convertToCanonicalResponse(parallelCallsResponse, 'gemini-flash-latest')).toEqual({
      id: 'resp_abc',
      model: { requested: 'gemini-flash-latest', served: 'gemini-2.5-flash' },
      systemFingerprint: null,
      content: [
        { type: 'text', text: 'Checking both cities.' },
        { type: 'tool-call', toolCallId: '', toolName: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool-call', toolCallId: '', toolName: 'get_weather', input: { city: 'Tokyo' } },
      ],
      finishReason: { unified: 'tool-calls', raw: 'STOP' },
      usage: { inputTokens: 61, outputTokens: 34, totalTokens: 95, raw: parallelCallsResponse.usageMetadata },
    });
  });

  it('maps a text answer to stop and a blocked prompt (no candidate) to content-filter', () => {
    const text = { candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP' }] };
    expect(convertToCanonicalResponse(text, 'm').finishReason).toEqual({ unified: 'stop', raw: 'STOP' });
    expect(convertToCanonicalResponse({ promptFeedback: { blockReason: 'SAFETY' } }, 'm').finishReason).toEqual({ unified: 'content-filter', raw: null });
  });

  it('keeps a thought part as other, not as answer text', () => {
    const body = { candidates: [{ content: { parts: [{ text: 'pondering', thought: true }, { text: 'Yes.' }] }, finishReason: 'MAX_TOKENS' }] };
    const response = convertToCanonicalResponse(body, 'm');
    expect(response.content).toEqual([
      { type: 'other', raw: { text: 'pondering', thought: true } },
      { type: 'text', text: 'Yes.' },
    ]);
    expect(response.finishReason.unified).toBe('length');
  });
});
