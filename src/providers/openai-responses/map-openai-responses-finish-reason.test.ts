import { describe, expect, it } from 'vitest';
import { mapOpenaiResponsesFinishReason } from './map-openai-responses-finish-reason.ts';

describe('mapOpenaiResponsesFinishReason', () => {
  it.each([
    ['completed', null, false, { unified: 'stop', raw: 'completed' }],
    ['completed', null, true, { unified: 'tool-calls', raw: 'completed' }],
    ['incomplete', 'max_output_tokens', false, { unified: 'length', raw: 'max_output_tokens' }],
    ['incomplete', 'content_filter', false, { unified: 'content-filter', raw: 'content_filter' }],
    ['failed', null, false, { unified: 'error', raw: 'failed' }],
    ['in_progress', null, false, { unified: 'other', raw: 'in_progress' }],
    [null, null, false, { unified: 'other', raw: null }],
  ] as const)('status %s, reason %s, tool calls %s', (status, reason, hasToolCalls, expected) => {
    expect(mapOpenaiResponsesFinishReason(status, reason, hasToolCalls)).toEqual(expected);
  });
});
