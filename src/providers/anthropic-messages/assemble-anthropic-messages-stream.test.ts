import { describe, expect, it } from 'vitest';
import { readFixture, readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { followUpParams } from './__fixtures__/anthropic-messages-calls.ts';
import { createTestClient, withoutParsedOutput } from './__fixtures__/create-test-client.ts';
import { assembleAnthropicMessagesStream } from './assemble-anthropic-messages-stream.ts';

const fixture = (name: string) => readFixture(import.meta.url, name);

describe('assembleAnthropicMessagesStream', () => {
  it.each([
    ['tool-call-stream.sse', 'tool-call-response.json'],
    ['text-stream.sse', 'text-response.json'],
  ])('assembles %s into the non-streamed body %s', (streamName, responseName) => {
    expect(assembleAnthropicMessagesStream(fixture(streamName))).toEqual(readJsonFixture(import.meta.url, responseName));
  });

  it('agrees with what the real SDK assembles from the same events', async () => {
    for (const streamName of ['tool-call-stream.sse', 'text-stream.sse']) {
      const text = fixture(streamName);
      // Cut the text at odd byte boundaries so the SDK's own SSE buffering is exercised too.
      const { client } = createTestClient(() => ({ sseChunks: text.match(/[\s\S]{1,89}/g) ?? [] }));
      const final = await client.messages.stream(followUpParams).finalMessage();
      expect(withoutParsedOutput(final)).toEqual(assembleAnthropicMessagesStream(text));
    }
  });

  it('handles CRLF, thinking with its signature, citations, unknown event types and tool input split mid-token', () => {
    const event = (payload: object) => `event: ${(payload as { type: string }).type}\r\ndata: ${JSON.stringify(payload)}\r\n\r\n`;
    const start = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-5-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 1 },
    };
    const citation = { type: 'char_location', cited_text: 'x', document_index: 0, start_char_index: 0, end_char_index: 1 };
    const text = [
      event({ type: 'message_start', message: start }),
      event({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me ' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'think.' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCkgIAR' } }),
      event({ type: 'content_block_stop', index: 0 }),
      event({ type: 'some_future_event', detail: 1 }),
      event({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '', citations: null } }),
      event({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Done.' } }),
      event({ type: 'content_block_delta', index: 1, delta: { type: 'citations_delta', citation } }),
      event({ type: 'content_block_stop', index: 1 }),
      event({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_9', name: 'save', input: {} } }),
      event({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"note": "caf' } }),
      event({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'é", "tags": [1, ' } }),
      event({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '2]}' } }),
      event({ type: 'content_block_stop', index: 2 }),
      event({ type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_10', name: 'ping', input: {} } }),
      event({ type: 'content_block_stop', index: 3 }),
      event({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 55, input_tokens: null } }),
      event({ type: 'message_stop' }),
    ].join('');
    expect(assembleAnthropicMessagesStream(text)).toEqual({
      ...start,
      content: [
        { type: 'thinking', thinking: 'Let me think.', signature: 'EqQBCkgIAR' },
        { type: 'text', text: 'Done.', citations: [citation] },
        { type: 'tool_use', id: 'toolu_9', name: 'save', input: { note: 'café', tags: [1, 2] } },
        { type: 'tool_use', id: 'toolu_10', name: 'ping', input: {} },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 10, output_tokens: 55 },
    });
  });

  it('assembles a stream cut off mid-event from the events that arrived whole', () => {
    const text = fixture('tool-call-stream.sse');
    const body = assembleAnthropicMessagesStream(text.slice(0, text.indexOf('ris\\", \\"unit') + 5)) as { content: unknown[]; stop_reason: unknown };
    expect(body.content).toEqual([
      { type: 'text', text: "I'll check the current weather in both cities." },
      { type: 'tool_use', id: 'toolu_01A9bC3dE5fG7hJ9kL1mN3pQ', name: 'get_weather', input: {} },
    ]);
    expect(body.stop_reason).toBeNull();
  });

  it('returns an error event as the error body, and rejects streams without message_start', () => {
    const error = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
    const cut = fixture('text-stream.sse').split('\n\n').slice(0, 3).join('\n\n');
    expect(assembleAnthropicMessagesStream(`${cut}\n\nevent: error\ndata: ${JSON.stringify(error)}\n\n`)).toEqual(error);
    expect(() => assembleAnthropicMessagesStream('event: ping\ndata: {"type":"ping"}\n\n')).toThrow(/no message_start/);
    expect(() => assembleAnthropicMessagesStream('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toThrow(/begin with message_start/);
  });
});
