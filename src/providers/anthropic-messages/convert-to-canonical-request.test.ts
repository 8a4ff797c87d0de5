import { describe, expect, it } from 'vitest';
import { readFixture, readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { followUpParams, toolCallParams } from './__fixtures__/anthropic-messages-calls.ts';
import { createTestClient } from './__fixtures__/create-test-client.ts';
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
  },
};
const firstTurn = [
  { role: 'system', content: [{ type: 'text', text: 'You are a travel assistant. Use tools for anything live.' }] },
  { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris and Tokyo right now?' }] },
];

describe('anthropic-messages convertToCanonicalRequest', () => {
  it('reads the exact body @anthropic-ai/sdk@1 sends, with the system prompt first and defaults marked', async () => {
    const { client, requests } = createTestClient(() => ({ json: readJsonFixture(import.meta.url, 'tool-call-response.json') }));
    await client.messages.create(toolCallParams);
    expect(requests[0]?.url.pathname).toBe('/v1/messages');
    // SDK 1.x sends the API key as a bearer token, not as `x-api-key`.
    expect(requests[0]?.headers).toMatchObject({ authorization: 'Bearer sk-ant-test', 'anthropic-version': expect.any(String) });
    expect(requests[0]?.headers).not.toHaveProperty('x-api-key');
    expect(requests[0]?.bodyText).toBe(wireBytes('tool-call-request.json'));

    expect(convertToCanonicalRequest(JSON.parse(fixture('tool-call-request.json')))).toEqual({
      model: 'claude-sonnet-5-5',
      messages: firstTurn,
      tools: [weatherTool],
      toolChoice: 'auto',
      responseFormat: null,
      sampling: {
        max_tokens: { value: 1024, source: 'sent' },
        temperature: { value: 1, source: 'default' },
        top_p: { value: null, source: 'default' },
        top_k: { value: null, source: 'default' },
        stop_sequences: { value: null, source: 'default' },
        thinking: { value: null, source: 'default' },
        effort: { value: null, source: 'default' },
        disable_parallel_tool_use: { value: false, source: 'default' },
      },
      stream: false,
    });
  });

  it('reads a streamed follow-up whose user message holds only tool results as a tool message', async () => {
    const { client, requests } = createTestClient(() => ({ sseChunks: [fixture('text-stream.sse')] }));
    await client.messages.stream(followUpParams).finalMessage();
    // The stream helper appends `stream: true` after the caller's fields and marks itself in a header.
    expect(requests[0]?.headers['x-stainless-helper-method']).toBe('stream');
    expect(requests[0]?.bodyText).toBe(wireBytes('follow-up-request.json'));

    const draft = convertToCanonicalRequest(JSON.parse(fixture('follow-up-request.json')));
    expect(draft.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: [
          { type: 'text', text: "I'll check the current weather in both cities." },
          { type: 'tool-call', toolCallId: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ', toolName: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
          { type: 'tool-call', toolCallId: 'toolu_01R5sT7uV9wX1yZ3aB5cD7eF', toolName: 'get_weather', input: { city: 'Tokyo', unit: 'celsius' } },
        ],
      },
      {
        role: 'tool',
        content: [
          { type: 'tool-result', toolCallId: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ', output: { temperature: 18, conditions: 'partly cloudy' } },
          { type: 'tool-result', toolCallId: 'toolu_01R5sT7uV9wX1yZ3aB5cD7eF', output: { temperature: 24, conditions: 'clear' } },
        ],
      },
    ]);
    expect(draft.stream).toBe(true);
    expect(draft.toolChoice).toBe('auto');
    expect(draft.sampling).toMatchObject({
      stop_sequences: { value: ['\n\nHuman:'], source: 'sent' },
      effort: { value: 'medium', source: 'sent' },
      disable_parallel_tool_use: { value: false, source: 'sent' },
    });
  });

  it('keeps mixed user messages as user, and maps images, errors, thinking, a forced tool and older sampling fields', () => {
    const outputFormat = { type: 'json_schema', schema: { type: 'object' } };
    const draft = convertToCanonicalRequest({
      model: 'claude-opus-5-5',
      max_tokens: 2000,
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'url', url: 'https://x/cat.png' } },
            { type: 'text', text: 'What is it?' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Hmm.', signature: 'sig' },
            { type: 'tool_use', id: 'toolu_1', name: 'look', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'camera offline', is_error: true },
            { type: 'text', text: 'Try again.' },
          ],
        },
      ],
      tools: [
        { name: 'look', input_schema: { type: 'object' } },
        { type: 'web_search_20250305', name: 'web_search' },
      ],
      tool_choice: { type: 'tool', name: 'look' },
      output_config: { format: outputFormat },
      temperature: 0.3,
      top_k: 40,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    expect(draft.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'url', url: 'https://x/cat.png' } },
          { type: 'text', text: 'What is it?' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'other', raw: { type: 'thinking', thinking: 'Hmm.', signature: 'sig' } },
          { type: 'tool-call', toolCallId: 'toolu_1', toolName: 'look', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool-result', toolCallId: 'toolu_1', output: 'camera offline', isError: true },
          { type: 'text', text: 'Try again.' },
        ],
      },
    ]);
    expect(draft.tools).toEqual([
      { name: 'look', inputSchema: { type: 'object' } },
      { name: 'web_search', inputSchema: null, type: 'web_search_20250305' },
    ]);
    expect(draft.toolChoice).toEqual({ type: 'tool', toolName: 'look' });
    expect(draft.responseFormat).toEqual(outputFormat);
    expect(draft.sampling).toMatchObject({
      temperature: { value: 0.3, source: 'sent' },
      top_k: { value: 40, source: 'sent' },
      thinking: { value: { type: 'enabled', budget_tokens: 1024 }, source: 'sent' },
    });
  });

  it.each([
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
    [{ type: 'auto', disable_parallel_tool_use: true }, 'auto'],
  ])('maps tool_choice %j to %j', (toolChoice, expected) => {
    const body = {
      model: 'claude-haiku-5-5',
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'f', input_schema: {} }],
      tool_choice: toolChoice,
    };
    expect(convertToCanonicalRequest(body).toolChoice).toBe(expected);
  });

  it('defaults tool choice to none without tools, and throws a TypeError on an OpenAI body', () => {
    expect(convertToCanonicalRequest({ model: 'claude-haiku-5-5', max_tokens: 10, messages: [] }).toolChoice).toBe('none');
    expect(() => convertToCanonicalRequest({ model: 'gpt-4.1', messages: [{ role: 'system', content: 'x' }] })).toThrow(/Anthropic Messages request body/);
  });
});
