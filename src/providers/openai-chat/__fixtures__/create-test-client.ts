import OpenAI from 'openai';
import { createFakeFetch, type FakeAnswer } from '../../__fixtures__/create-fake-fetch.ts';

/** A real OpenAI client whose requests are kept and answered by `answer` instead of the network. */
export function createTestClient(answer: () => FakeAnswer) {
  const { fetch, requests } = createFakeFetch(answer);
  const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:1/v1', fetch, maxRetries: 0 });
  return { client, requests };
}

/** Removes the `parsed: null` the SDK's stream helper adds to every message, leaving the wire body. */
export function withoutParsed(completion: { choices: Array<{ message: object }> }): unknown {
  return {
    ...completion,
    choices: completion.choices.map(({ message, ...choice }) => {
      const { parsed: _parsed, ...wireMessage } = message as { parsed?: unknown };
      return { ...choice, message: wireMessage };
    }),
  };
}

/**
 * Params for driving the SDK's stream helper in replay tests. Deliberately without `strict`
 * tools: with them the helper adds `parsed_arguments` to every tool call, which is not wire data.
 */
export const plainStreamParams: Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'stream'> = {
  model: 'gpt-4.1',
  messages: [{ role: 'user', content: 'What is the weather in Paris and Tokyo right now?' }],
};
