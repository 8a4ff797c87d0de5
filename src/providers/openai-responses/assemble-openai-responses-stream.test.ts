import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { assembleOpenaiResponsesStream } from './assemble-openai-responses-stream.ts';
import { renderOpenaiResponsesStream } from './render-openai-responses-stream.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);

describe('assembleOpenaiResponsesStream', () => {
  it('rebuilds a stream cut off before response.completed from the items and deltas that arrived', () => {
    const events = renderOpenaiResponsesStream(fixture('parallel-tool-calls-response.json'));
    // Cut after the first argument fragment of the second call: no .done events for it, no completion.
    const secondCallFragment = events.findIndex((event) => event.includes('"output_index":2') && event.includes('function_call_arguments.delta'));
    const assembled = assembleOpenaiResponsesStream(events.slice(0, secondCallFragment + 1).join('')) as {
      status: string;
      output: Array<{ type: string; arguments?: string; status?: string }>;
    };
    expect(assembled.status).toBe('in_progress');
    expect(assembled.output.map((item) => item.type)).toEqual(['reasoning', 'function_call', 'function_call']);
    expect(assembled.output[1]).toMatchObject({ arguments: '{"customer_id":"C-1"}', status: 'completed' });
    expect(assembled.output[2]).toMatchObject({ arguments: '{"customer_i', status: 'in_progress' });
  });

  it('joins text deltas of a message cut off mid-stream', () => {
    const events = renderOpenaiResponsesStream(fixture('text-response.json'));
    const lastDelta = events.map((event) => event.includes('response.output_text.delta')).lastIndexOf(true);
    const assembled = assembleOpenaiResponsesStream(events.slice(0, lastDelta + 1).join('')) as { output: Array<{ content: Array<{ text: string }> }> };
    expect(assembled.output[0]?.content[0]?.text).toBe('Your balance is 10 dollars, and nothing is overdue. 🙂');
  });

  it('returns an error event as is, and refuses a stream that is not a Responses stream', () => {
    const error = { type: 'error', code: 'server_error', message: 'boom', param: null, sequence_number: 1 };
    expect(assembleOpenaiResponsesStream(`event: error\ndata: ${JSON.stringify(error)}\n\n`)).toEqual(error);
    expect(() => assembleOpenaiResponsesStream('data: {"type":"response.output_text.delta","delta":"x"}\n\n')).toThrow(/begin with response.created/);
    expect(() => assembleOpenaiResponsesStream('')).toThrow(/no response.created/);
  });
});
