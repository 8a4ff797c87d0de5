import { describe, expect, it } from 'vitest';
import { readFixture, readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { createTestClient, plainStreamParams, withoutParsed } from './__fixtures__/create-test-client.ts';
import { assembleOpenaiChatStream } from './assemble-openai-chat-stream.ts';

const fixture = (name: string) => readFixture(import.meta.url, name);

describe('assembleOpenaiChatStream', () => {
  it.each([
    ['tool-call-stream.sse', 'tool-call-response.json'],
    ['text-stream.sse', 'text-response.json'],
  ])('assembles %s into the non-streamed body %s', (streamName, responseName) => {
    expect(assembleOpenaiChatStream(fixture(streamName))).toEqual(readJsonFixture(import.meta.url, responseName));
  });

  it('agrees with what the real SDK assembles from the same chunks, bar obfuscation and annotations', async () => {
    for (const streamName of ['tool-call-stream.sse', 'text-stream.sse']) {
      const text = fixture(streamName);
      // Cut the text at odd byte boundaries so the SDK's own SSE buffering is exercised too.
      const sseChunks = text.match(/[\s\S]{1,97}/g) ?? [];
      const { client } = createTestClient(() => ({ sseChunks }));
      const final = await client.chat.completions.stream(plainStreamParams).finalChatCompletion();
      const { obfuscation, ...sdkBody } = withoutParsed(final) as { obfuscation?: unknown; choices: Array<{ message: object }> };
      // The SDK keeps the last chunk's padding; the assembler drops it as noise.
      expect(obfuscation).toEqual(expect.any(String));
      // The stream never mentions `annotations`; the assembler adds the `[]` a non-streamed body has.
      const withAnnotations = { ...sdkBody, choices: sdkBody.choices.map((choice) => ({ ...choice, message: { ...choice.message, annotations: [] } })) };
      expect(assembleOpenaiChatStream(text)).toEqual(withAnnotations);
    }
  });

  it('joins several choices, logprobs and refusals, and keeps Azure-style extra fields', () => {
    const chunk = (choices: unknown[], extra: object = {}) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 5, model: 'm', choices, ...extra })}\n\n`;
    const text = [
      `data: ${JSON.stringify({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0 }] })}\n\n`,
      chunk([{ index: 1, delta: { role: 'assistant', content: 'B' }, logprobs: { content: [{ token: 'B' }], refusal: null }, finish_reason: null }]),
      chunk([{ index: 0, delta: { role: 'assistant', refusal: 'No' }, finish_reason: null }]),
      chunk([
        {
          index: 1,
          delta: { content: 'ee' },
          logprobs: { content: [{ token: 'ee' }], refusal: null },
          finish_reason: 'stop',
          content_filter_results: { hate: { filtered: false } },
        },
      ]),
      chunk([{ index: 0, delta: { refusal: 'pe.' }, finish_reason: 'stop' }]),
      'data: [DONE]\n\n',
    ].join('');
    const body = assembleOpenaiChatStream(text) as { choices: unknown[]; prompt_filter_results: unknown; usage?: unknown };
    expect(body.prompt_filter_results).toEqual([{ prompt_index: 0 }]);
    expect(body).not.toHaveProperty('usage');
    expect(body.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: null, refusal: 'Nope.', annotations: [] }, logprobs: null, finish_reason: 'stop' },
      {
        index: 1,
        message: { role: 'assistant', content: 'Bee', refusal: null, annotations: [] },
        logprobs: { content: [{ token: 'B' }, { token: 'ee' }], refusal: null },
        finish_reason: 'stop',
        content_filter_results: { hate: { filtered: false } },
      },
    ]);
  });

  it('assembles a stream cut off mid-chunk from the chunks that arrived whole', () => {
    const text = fixture('tool-call-stream.sse');
    const body = assembleOpenaiChatStream(text.slice(0, text.indexOf('"ty\\":\\"Pa') + 20)) as {
      choices: Array<{ message: { tool_calls: unknown }; finish_reason: unknown }>;
    };
    expect(body.choices[0]?.message.tool_calls).toEqual([
      { id: 'call_7QhN2vXk9LmP4rTs8WbJ1cYe', type: 'function', function: { name: 'get_weather', arguments: '{"ci' } },
    ]);
    expect(body.choices[0]?.finish_reason).toBeNull();
    expect(body).not.toHaveProperty('usage');
  });

  it('returns an error payload sent mid-stream, and rejects text that holds no chunks', () => {
    const error = { error: { message: 'The server had an error', type: 'server_error', code: null } };
    expect(assembleOpenaiChatStream(`${fixture('text-stream.sse').split('\n\n').slice(0, 3).join('\n\n')}\n\ndata: ${JSON.stringify(error)}\n\n`)).toEqual(
      error,
    );
    expect(() => assembleOpenaiChatStream(': nothing here\n\n')).toThrow(TypeError);
  });
});
