import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { convertToCanonicalRequest } from './convert-to-canonical-request.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name) as Record<string, unknown>;

describe('convertToCanonicalRequest (OpenAI Responses)', () => {
  it('turns instructions and input items into messages, with parallel calls in one assistant turn', () => {
    const draft = convertToCanonicalRequest(fixture('follow-up-request.json'));
    expect(draft.model).toBe('gpt-5');
    expect(draft.stream).toBe(true);
    expect(draft.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'You help customers.' }] },
      { role: 'user', content: [{ type: 'text', text: 'How much do C-1 and C-2 owe?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'other', raw: { id: 'rs_01', type: 'reasoning', summary: [] } },
          { type: 'tool-call', toolCallId: 'call_A1', toolName: 'lookup_account', input: { customer_id: 'C-1' }, rawArguments: '{"customer_id":"C-1"}' },
          { type: 'tool-call', toolCallId: 'call_B2', toolName: 'lookup_account', input: { customer_id: 'C-2' }, rawArguments: '{"customer_id":"C-2"}' },
        ],
      },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_A1', output: { balance: 10 } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_B2', output: 'not found' }] },
    ]);
  });

  it('reads function and hosted tools, the forced tool, structured output and sampling with defaults', () => {
    const draft = convertToCanonicalRequest(fixture('follow-up-request.json'));
    expect(draft.tools).toEqual([
      {
        name: 'lookup_account',
        description: 'Look up an account',
        inputSchema: { type: 'object', properties: { customer_id: { type: 'string' } }, required: ['customer_id'] },
        strict: true,
      },
      { name: 'web_search', inputSchema: null, type: 'web_search', raw: { type: 'web_search' } },
    ]);
    expect(draft.toolChoice).toEqual({ type: 'tool', toolName: 'lookup_account' });
    expect(draft.responseFormat).toEqual({ type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true });
    expect(draft.sampling).toMatchObject({
      temperature: { value: 0.2, source: 'sent' },
      top_p: { value: 1, source: 'default' },
      max_output_tokens: { value: 512, source: 'sent' },
      verbosity: { value: 'low', source: 'sent' },
      parallel_tool_calls: { value: true, source: 'default' },
      previous_response_id: { value: null, source: 'default' },
    });
  });

  it('reads a string input as one user message, plain-text format as no format, and no tools as tool choice none', () => {
    const draft = convertToCanonicalRequest({ model: 'gpt-5', input: 'hi', text: { format: { type: 'text' } } });
    expect(draft.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    expect(draft.responseFormat).toBeNull();
    expect(draft.tools).toBeNull();
    expect(draft.toolChoice).toBe('none');
    expect(draft.sampling.parallel_tool_calls).toEqual({ value: null, source: 'default' });
    expect(draft.stream).toBe(false);
  });

  it('keeps server-held context in what is compared: previous_response_id', () => {
    const draft = convertToCanonicalRequest({ model: 'gpt-5', input: 'and then?', previous_response_id: 'resp_1' });
    expect(draft.sampling.previous_response_id).toEqual({ value: 'resp_1', source: 'sent' });
  });

  it('gives developer items the system role and leaves item ids out', () => {
    const draft = convertToCanonicalRequest({
      model: 'gpt-5',
      input: [
        { role: 'developer', content: 'Be terse.' },
        { id: 'msg_9', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Earlier.', annotations: [] }] },
        { type: 'message', role: 'user', content: [{ type: 'input_image', image_url: 'https://x.test/a.png', detail: 'auto' }] },
      ],
    });
    expect(draft.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Be terse.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Earlier.' }] },
      { role: 'user', content: [{ type: 'image', source: 'https://x.test/a.png' }] },
    ]);
  });

  it('keeps items it has no canonical form for whole, so two item references stay apart', () => {
    const draft = convertToCanonicalRequest({ model: 'gpt-5', input: [{ type: 'item_reference', id: 'fc_1' }] });
    expect(draft.messages).toEqual([{ role: 'assistant', content: [{ type: 'other', raw: { type: 'item_reference', id: 'fc_1' } }] }]);
  });

  it('refuses a body that is not a Responses request with a sentence naming the format', () => {
    expect(() => convertToCanonicalRequest({ input: 'hi' })).toThrow(/Expected an OpenAI Responses request body/);
  });
});
