import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);

describe('anthropic-messages convertToCanonicalResponse', () => {
  it('converts text and tool calls, with no fingerprint and cache counters left in raw usage', () => {
    const body = fixture('tool-call-response.json') as { usage: unknown };
    expect(convertToCanonicalResponse(body, 'claude-sonnet-5-5')).toEqual({
      id: 'msg_01XkQ7bN3vR8sT2mW5yZ9aLc',
      model: { requested: 'claude-sonnet-5-5', served: 'claude-sonnet-5-5' },
      systemFingerprint: null,
      content: [
        { type: 'text', text: "I'll check the current weather in both cities." },
        { type: 'tool-call', toolCallId: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ', toolName: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
        { type: 'tool-call', toolCallId: 'toolu_01R5sT7uV9wX1yZ3aB5cD7eF', toolName: 'get_weather', input: { city: 'Tokyo', unit: 'celsius' } },
      ],
      finishReason: { unified: 'tool-calls', raw: 'tool_use' },
      usage: { inputTokens: 498, outputTokens: 121, totalTokens: 619, raw: body.usage },
    });
  });

  it('converts an end_turn text answer', () => {
    const response = convertToCanonicalResponse(fixture('text-response.json'), 'claude-sonnet-5-5');
    expect(response.content).toEqual([{ type: 'text', text: "In Paris it's 18 °C and partly cloudy; in Tokyo it's 24 °C under clear skies." }]);
    expect(response.finishReason).toEqual({ unified: 'stop', raw: 'end_turn' });
  });

  it('throws a TypeError on a body that is not a message', () => {
    expect(() => convertToCanonicalResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'claude-sonnet-5-5')).toThrow(
      /Anthropic Messages response body/,
    );
  });
});
