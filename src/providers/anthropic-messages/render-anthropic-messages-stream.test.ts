import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { parseSse } from '../parse-sse.ts';
import { followUpParams } from './__fixtures__/anthropic-messages-calls.ts';
import { createTestClient, withoutParsedOutput } from './__fixtures__/create-test-client.ts';
import { assembleAnthropicMessagesStream } from './assemble-anthropic-messages-stream.ts';
import { renderAnthropicMessagesStream } from './render-anthropic-messages-stream.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);
const thinkingBody = {
  id: 'msg_2',
  type: 'message',
  role: 'assistant',
  model: 'claude-opus-5-5',
  content: [
    { type: 'thinking', thinking: 'The user wants a short answer about the weather in two cities.', signature: 'EqQBCkgIARABGAIiQL' },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3' },
    { type: 'text', text: 'Both are mild today 🌤️.' },
  ],
  stop_reason: 'max_tokens',
  stop_sequence: null,
  stop_details: null,
  container: null,
  usage: { input_tokens: 40, cache_creation_input_tokens: null, cache_read_input_tokens: 12, output_tokens: 2048, service_tier: 'standard' },
};

describe('renderAnthropicMessagesStream', () => {
  it.each([
    ['tool-call-response.json', () => fixture('tool-call-response.json')],
    ['text-response.json', () => fixture('text-response.json')],
    ['a thinking answer', () => thinkingBody],
  ])('renders %s so the real SDK rebuilds it exactly', async (_name, body) => {
    const { client } = createTestClient(() => ({ sseChunks: renderAnthropicMessagesStream(body()) }));
    const final = await client.messages.stream(followUpParams).finalMessage();
    expect(withoutParsedOutput(final)).toEqual(body());
  });

  it.each([
    ['tool-call-response.json', () => fixture('tool-call-response.json')],
    ['a thinking answer', () => thinkingBody],
  ])('round-trips %s through assembleStream', (_name, body) => {
    expect(assembleAnthropicMessagesStream(renderAnthropicMessagesStream(body()).join(''))).toEqual(body());
  });

  it('announces blocks empty and splits tool input into several input_json_delta events', () => {
    const events = parseSse(renderAnthropicMessagesStream(fixture('tool-call-response.json')).join('')).map((event) => ({
      ...event,
      data: JSON.parse(event.data),
    }));
    expect(events[0]).toMatchObject({ event: 'message_start', data: { message: { content: [], stop_reason: null, usage: { output_tokens: 1 } } } });
    expect(events.find((event) => event.data.index === 1 && event.event === 'content_block_start')?.data.content_block).toEqual({
      type: 'tool_use',
      id: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ',
      name: 'get_weather',
      input: {},
    });
    expect(events.filter((event) => event.data.index === 1 && event.data.delta?.type === 'input_json_delta').length).toBeGreaterThan(1);
    expect(events.map((event) => event.event).slice(-2)).toEqual(['message_delta', 'message_stop']);
  });
});
