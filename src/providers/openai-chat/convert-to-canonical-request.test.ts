import { describe, expect, it } from 'vitest';
import { readFixture, readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { createTestClient } from './__fixtures__/create-test-client.ts';
import { followUpParams, toolCallParams } from './__fixtures__/openai-chat-calls.ts';
import { convertToCanonicalRequest } from './convert-to-canonical-request.ts';

const fixture = (name: string) => readFixture(import.meta.url, name);
/** The fixture's exact wire bytes: the SDK serializes with plain JSON.stringify, so this keeps key order. */
const wireBytes = (name: string) => JSON.stringify(JSON.parse(fixture(name)));
const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city.',
  inputSchema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  },
  strict: true,
};
const firstTurn = [
  { role: 'system', content: [{ type: 'text', text: 'You are a travel assistant. Use tools for anything live.' }] },
  { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris and Tokyo right now?' }] },
];
const defaultSampling = {
  temperature: { value: 1, source: 'default' },
  top_p: { value: 1, source: 'default' },
  n: { value: 1, source: 'default' },
  presence_penalty: { value: 0, source: 'default' },
  frequency_penalty: { value: 0, source: 'default' },
  max_tokens: { value: null, source: 'default' },
  max_completion_tokens: { value: null, source: 'default' },
  stop: { value: null, source: 'default' },
  seed: { value: null, source: 'default' },
  logit_bias: { value: null, source: 'default' },
  logprobs: { value: false, source: 'default' },
  top_logprobs: { value: null, source: 'default' },
  reasoning_effort: { value: null, source: 'default' },
  service_tier: { value: 'auto', source: 'default' },
  parallel_tool_calls: { value: true, source: 'default' },
};

describe('openai-chat convertToCanonicalRequest', () => {
  it('reads the exact body openai@6 sends for a call offering tools, with defaults marked', async () => {
    const { client, requests } = createTestClient(() => ({ json: readJsonFixture(import.meta.url, 'tool-call-response.json') }));
    await client.chat.completions.create(toolCallParams);
    expect(requests[0]?.url.pathname).toBe('/v1/chat/completions');
    expect(requests[0]?.bodyText).toBe(wireBytes('tool-call-request.json'));

    expect(convertToCanonicalRequest(JSON.parse(fixture('tool-call-request.json')))).toEqual({
      model: 'gpt-4.1',
      messages: firstTurn,
      tools: [weatherTool],
      toolChoice: 'auto',
      responseFormat: null,
      sampling: { ...defaultSampling, temperature: { value: 0.2, source: 'sent' }, seed: { value: 7, source: 'sent' } },
      stream: false,
    });
  });

  it('reads a streamed follow-up carrying tool calls and parsed tool results', async () => {
    const { client, requests } = createTestClient(() => ({ sseChunks: [fixture('text-stream.sse')] }));
    for await (const _chunk of await client.chat.completions.create(followUpParams));
    // The SDK sends stream_options only when the caller does, and `accept: application/json` even for streams.
    expect(requests[0]?.headers.accept).toBe('application/json');
    expect(requests[0]?.bodyText).toBe(wireBytes('follow-up-request.json'));

    const draft = convertToCanonicalRequest(JSON.parse(fixture('follow-up-request.json')));
    expect(draft.messages.slice(2)).toEqual([
      {
        role: 'assistant',
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
      },
      {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: 'call_7QhN2vXk9LmP4rTs8WbJ1cYe', output: { temperature: 18, conditions: 'partly cloudy' } }],
      },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_R5dF3gHj6KlZ0xCv2BnM8aQw', output: { temperature: 24, conditions: 'clear' } }] },
    ]);
    expect(draft.toolChoice).toBe('none');
    expect(draft.stream).toBe(true);
    expect(draft.sampling.max_completion_tokens).toEqual({ value: 400, source: 'sent' });
    expect(draft.sampling).not.toHaveProperty('stream_options');
  });

  it('maps developer messages, content parts, refusals, broken arguments, a named tool choice and response_format', () => {
    const responseFormat = { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } };
    const draft = convertToCanonicalRequest({
      model: 'gpt-5',
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
        {
          role: 'user',
          name: 'ana',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://x/cat.png', detail: 'low' } },
            { type: 'input_audio', input_audio: { data: 'AAA', format: 'wav' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Hm.',
          refusal: 'I cannot.',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{"broken' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'not json' }] },
      ],
      tools: [{ type: 'function', function: { name: 'look' } }],
      tool_choice: { type: 'function', function: { name: 'look' } },
      response_format: responseFormat,
      parallel_tool_calls: false,
    });
    expect(draft.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      {
        role: 'user',
        name: 'ana',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'url', url: 'https://x/cat.png', detail: 'low' } },
          { type: 'other', raw: { type: 'input_audio', input_audio: { data: 'AAA', format: 'wav' } } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Hm.' },
          { type: 'other', raw: { type: 'refusal', refusal: 'I cannot.' } },
          { type: 'tool-call', toolCallId: 'call_1', toolName: 'look', input: '{"broken', rawArguments: '{"broken' },
        ],
      },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', output: 'not json' }] },
    ]);
    expect(draft.tools).toEqual([{ name: 'look', inputSchema: null }]);
    expect(draft.toolChoice).toEqual({ type: 'tool', toolName: 'look' });
    expect(draft.responseFormat).toEqual(responseFormat);
    expect(draft.sampling.parallel_tool_calls).toEqual({ value: false, source: 'sent' });
  });

  it('defaults tool choice to none and parallel_tool_calls to null without tools', () => {
    const draft = convertToCanonicalRequest({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], tools: [] });
    expect(draft.tools).toBeNull();
    expect(draft.toolChoice).toBe('none');
    expect(draft.sampling.parallel_tool_calls).toEqual({ value: null, source: 'default' });
  });

  it('throws a TypeError that names the expected format', () => {
    expect(() => convertToCanonicalRequest({ prompt: 'hi' })).toThrow(TypeError);
    expect(() => convertToCanonicalRequest({ model: 'gpt-4.1', messages: [{ role: 'bot', content: 'hi' }] })).toThrow(/OpenAI chat completions request body/);
  });
});
