import { describe, expect, it } from 'vitest';
import { mapOpenaiChatFinishReason } from './map-openai-chat-finish-reason.ts';

describe('mapOpenaiChatFinishReason', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool_calls', 'tool-calls'],
    ['function_call', 'tool-calls'],
    ['content_filter', 'content-filter'],
    ['eos', 'other'],
    [null, 'other'],
    [undefined, 'other'],
  ] as const)('%s -> %s', (raw, unified) => {
    expect(mapOpenaiChatFinishReason(raw)).toBe(unified);
  });
});
