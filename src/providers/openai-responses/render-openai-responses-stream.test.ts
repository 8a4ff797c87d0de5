import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createFakeFetch } from '../__fixtures__/create-fake-fetch.ts';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { parseSse } from '../parse-sse.ts';
import { assembleOpenaiResponsesStream } from './assemble-openai-responses-stream.ts';
import { renderOpenaiResponsesStream } from './render-openai-responses-stream.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);
const FIXTURES = ['parallel-tool-calls-response.json', 'text-response.json'];

/** The SDK's stream helper adds `output_text` and `parsed*` conveniences; the rest is the body as rendered. */
function withoutParsed(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, field) => (['output_text', 'output_parsed', 'parsed', 'parsed_arguments'].includes(key) ? undefined : field)));
}

describe('renderOpenaiResponsesStream', () => {
  it.each(FIXTURES)('renders %s so the real SDK rebuilds it exactly, event by event', async (name) => {
    const { fetch } = createFakeFetch(() => ({ sseChunks: renderOpenaiResponsesStream(fixture(name)) }));
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'http://sdk.test/v1', fetch, maxRetries: 0 });
    const final = await client.responses.stream({ model: 'gpt-5', input: 'hi' }).finalResponse();
    expect(withoutParsed(final)).toEqual(fixture(name));
  });

  it.each(FIXTURES)('round-trips %s through assembleStream', (name) => {
    expect(assembleOpenaiResponsesStream(renderOpenaiResponsesStream(fixture(name)).join(''))).toEqual(fixture(name));
  });

  it('streams each parallel call as its own item with argument fragments, numbering events in order', () => {
    const events = parseSse(renderOpenaiResponsesStream(fixture('parallel-tool-calls-response.json')).join('')).map((event) => ({
      name: event.event,
      json: JSON.parse(event.data) as { type: string; sequence_number: number; output_index?: number },
    }));
    expect(events.every((event) => event.name === event.json.type)).toBe(true);
    expect(events.map((event) => event.json.sequence_number)).toEqual(events.map((_event, index) => index));
    const fragments = events.filter((event) => event.json.type === 'response.function_call_arguments.delta');
    expect(new Set(fragments.map((event) => event.json.output_index))).toEqual(new Set([1, 2]));
    const done = events.filter((event) => event.json.type === 'response.function_call_arguments.done').map((event) => event.json);
    expect(done).toMatchObject([
      { output_index: 1, item_id: 'fc_01', arguments: '{"customer_id":"C-1"}' },
      { output_index: 2, item_id: 'fc_02', arguments: '{"customer_id":"C-2"}' },
    ]);
    expect(events.at(0)?.json.type).toBe('response.created');
    expect(events.at(-1)?.json.type).toBe('response.completed');
  });

  it('ends an incomplete response with response.incomplete', () => {
    const body = { ...(fixture('text-response.json') as object), status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
    const events = parseSse(renderOpenaiResponsesStream(body).join(''));
    expect(events.at(-1)?.event).toBe('response.incomplete');
    expect(assembleOpenaiResponsesStream(renderOpenaiResponsesStream(body).join(''))).toEqual(body);
  });
});
