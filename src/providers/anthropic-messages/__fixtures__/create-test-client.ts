import Anthropic from '@anthropic-ai/sdk';
import { createFakeFetch, type FakeAnswer } from '../../__fixtures__/create-fake-fetch.ts';

/** A real Anthropic client whose requests are kept and answered by `answer` instead of the network. */
export function createTestClient(answer: () => FakeAnswer) {
  const { fetch, requests } = createFakeFetch(answer);
  const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: 'http://127.0.0.1:1', fetch, maxRetries: 0 });
  return { client, requests };
}

/** Removes the `parsed_output: null` the SDK's stream helper adds, leaving the wire body. */
export function withoutParsedOutput(message: object): unknown {
  const { parsed_output: _parsedOutput, ...wireMessage } = message as { parsed_output?: unknown };
  return wireMessage;
}
