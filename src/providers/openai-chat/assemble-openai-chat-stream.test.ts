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

  it('agrees with what the real SDK assembles from the same chunks, minus the obfuscation padding', async () => {
    for (const streamName of ['tool-call-stream.sse', 'text-stream.sse']) {
      const text = fixture(streamName);
      // Cut every chunk at an odd byte boundary so the SDK's own SSE buffering is exercised too.
      const sseChunks = text.match(/[\s\S]{1,97}/g) ?? [];
      const { client } = createTestClient(() => ({ sseChunks }));
      const final = await client.chat.completions.stream(plainStreamParams).finalChatCompletion();
      const { obfuscation: _obfuscation, ...sdkBody } = withoutParsed(final) as Record<string, unknown>;
      expect(sdkBody).toEqual(assembleOpenaiChatStream(text));
    }
  });

  it('joins several choices, logprobs and refusals, and keeps Azure-style extra fields', () => {
    const chunk = (choices: unknown[], extra: object = {}) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 5, model: 'm', choices, ...extra })}\n\n`;
    const text = [
      `data: ${JSON.stringify({ id: '', object: '', created: 0, model: '', choices: [], prompt_filter_results: [{ prompt_index: 0 }] })}\n\n`,
      chunk([{ index: 1, delta: { role: 'assistant', content: 'B' }, logprobs: { content: [{ token: 'B' }], refusal: null }, finish_reason: null }]),
      chunk([{ index: 0, delta: { role: 'assistant', refusal: 'No' }, finish_reason: null }]),
      chunk([{ index: 1, delta: { content: 'ee' }, logprobs: { content: [{ token: 'ee' }], refusal: null }, finish_reason: 'stop', content_filter_results: { hate: { filtered: false } } }]),
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

  it('returns an error payload sent mid-stream, and rejects text that holds no chunks', () => {
    const error = { error: { message: 'The server had an error', type: 'server_error', code: null } };
    expect(assembleOpenaiChatStream(`${fixture('text-stream.sse').split('\n\n').slice(0, 3).join('\n\n')}\n\ndata: ${JSON.stringify(error)}\n\n`)).toEqual(error);
    expect(() => assembleOpenaiChatStream(': nothing here\n\n')).toThrow(TypeError);
  });
});
