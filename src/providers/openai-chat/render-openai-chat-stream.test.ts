import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { parseSse } from '../parse-sse.ts';
import { createTestClient, plainStreamParams, withoutParsed } from './__fixtures__/create-test-client.ts';
import { assembleOpenaiChatStream } from './assemble-openai-chat-stream.ts';
import { renderOpenaiChatStream } from './render-openai-chat-stream.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);

describe('renderOpenaiChatStream', () => {
  it.each(['tool-call-response.json', 'text-response.json'])('renders %s so the real SDK rebuilds it exactly', async (name) => {
    const { client } = createTestClient(() => ({ sseChunks: renderOpenaiChatStream(fixture(name)) }));
    const final = await client.chat.completions.stream(plainStreamParams).finalChatCompletion();
    expect(withoutParsed(final)).toEqual(fixture(name));
  });

  it.each(['tool-call-response.json', 'text-response.json'])('round-trips %s through assembleStream', (name) => {
    expect(assembleOpenaiChatStream(renderOpenaiChatStream(fixture(name)).join(''))).toEqual(fixture(name));
  });

  it('splits tool arguments over several chunks and ends with a usage chunk and [DONE]', () => {
    const events = parseSse(renderOpenaiChatStream(fixture('tool-call-response.json')).join(''));
    const argumentFragments = events.filter((event) => event.data.includes('"arguments":"{') || event.data.includes('"arguments":"'));
    expect(argumentFragments.length).toBeGreaterThan(4);
    expect(JSON.parse(events.at(-2)?.data ?? '')).toMatchObject({ choices: [], usage: { total_tokens: 164 } });
    expect(events.at(-1)?.data).toBe('[DONE]');
  });

  it('renders several choices and omits usage entirely when the body has none', async () => {
    const body = {
      id: 'chatcmpl-2',
      object: 'chat.completion',
      created: 9,
      model: 'gpt-4.1-mini-2025-04-14',
      choices: [0, 1].map((index) => ({
        index,
        message: { role: 'assistant', content: `Answer ${index} ✓`, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      })),
      system_fingerprint: 'fp_x',
    };
    const chunks = renderOpenaiChatStream(body);
    expect(chunks.join('')).not.toContain('usage');
    const { client } = createTestClient(() => ({ sseChunks: chunks }));
    const final = await client.chat.completions.stream({ ...plainStreamParams, n: 2 }).finalChatCompletion();
    expect(withoutParsed(final)).toEqual(body);
  });
});
