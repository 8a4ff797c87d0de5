import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);

describe('openai-chat convertToCanonicalResponse', () => {
  it('converts parallel tool calls with the served model, fingerprint and usage', () => {
    const body = fixture('tool-call-response.json') as { usage: unknown };
    expect(convertToCanonicalResponse(body, 'gpt-4.1')).toEqual({
      id: 'chatcmpl-Cq3xVf8Kp2mT7aRz1nYb4EwL9dHsU',
      model: { requested: 'gpt-4.1', served: 'gpt-4.1-2025-04-14' },
      systemFingerprint: 'fp_51e1070cf2',
      content: [
        {
          type: 'tool-call',
          toolCallId: 'call_7QhN2vXk9LmP4rTs8WbJ1cYe',
          toolName: 'get_weather',
          input: { city: 'Paris', unit: 'celsius' },
          rawArguments: '{"city":"Paris","unit":"celsius"}',
        },
        {
          type: 'tool-call',
          toolCallId: 'call_R5dF3gHj6KlZ0xCv2BnM8aQw',
          toolName: 'get_weather',
          input: { city: 'Tokyo', unit: 'celsius' },
          rawArguments: '{"city":"Tokyo","unit":"celsius"}',
        },
      ],
      finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
      usage: { inputTokens: 112, outputTokens: 52, totalTokens: 164, raw: body.usage },
    });
  });

  it('converts a text answer', () => {
    const response = convertToCanonicalResponse(fixture('text-response.json'), 'gpt-4.1');
    expect(response.content).toEqual([{ type: 'text', text: 'Right now Paris is 18 °C and partly cloudy, while Tokyo is 24 °C with clear skies.' }]);
    expect(response.finishReason).toEqual({ unified: 'stop', raw: 'stop' });
  });

  it('keeps unparsable arguments as the raw string and tolerates a missing usage and fingerprint', () => {
    const response = convertToCanonicalResponse(
      {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'llama-3.1-8b',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: '', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":' } }] },
            finish_reason: 'length',
          },
        ],
      },
      'local-llama',
    );
    expect(response.content).toEqual([{ type: 'tool-call', toolCallId: 'c', toolName: 'f', input: '{"a":', rawArguments: '{"a":' }]);
    expect(response.systemFingerprint).toBeNull();
    expect(response.usage).toEqual({ inputTokens: null, outputTokens: null, totalTokens: null, raw: null });
    expect(response.finishReason).toEqual({ unified: 'length', raw: 'length' });
  });

  it('throws a TypeError on a body that is not a chat completion', () => {
    expect(() => convertToCanonicalResponse({ type: 'message', content: [] }, 'gpt-4.1')).toThrow(/OpenAI chat completion response body/);
  });
});
