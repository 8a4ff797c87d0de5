import { describe, expect, it } from 'vitest';
import { mapAnthropicMessagesFinishReason } from './map-anthropic-messages-finish-reason.ts';

describe('mapAnthropicMessagesFinishReason', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool-calls'],
    ['refusal', 'content-filter'],
    ['pause_turn', 'other'],
    [null, 'other'],
    [undefined, 'other'],
  ] as const)('%s -> %s', (raw, unified) => {
    expect(mapAnthropicMessagesFinishReason(raw)).toBe(unified);
  });
});
