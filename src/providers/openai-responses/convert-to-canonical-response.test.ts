import { describe, expect, it } from 'vitest';
import { readJsonFixture } from '../__fixtures__/read-fixture.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';

const fixture = (name: string) => readJsonFixture(import.meta.url, name);

describe('convertToCanonicalResponse (OpenAI Responses)', () => {
  it('gives one tool call per parallel function_call item, in output order', () => {
    const response = convertToCanonicalResponse(fixture('parallel-tool-calls-response.json'), 'gpt-5');
    expect(response.id).toBe('resp_68a1f0c2d4e8819');
    expect(response.model).toEqual({ requested: 'gpt-5', served: 'gpt-5-2025-08-07' });
    expect(response.content).toEqual([
      { type: 'other', raw: { id: 'rs_01', type: 'reasoning', summary: [] } },
      { type: 'tool-call', toolCallId: 'call_A1', toolName: 'lookup_account', input: { customer_id: 'C-1' }, rawArguments: '{"customer_id":"C-1"}' },
      { type: 'tool-call', toolCallId: 'call_B2', toolName: 'lookup_account', input: { customer_id: 'C-2' }, rawArguments: '{"customer_id":"C-2"}' },
    ]);
    expect(response.finishReason).toEqual({ unified: 'tool-calls', raw: 'completed' });
    expect(response.usage).toMatchObject({ inputTokens: 81, outputTokens: 54, totalTokens: 135 });
  });

  it('reads output text, and a stop for running out of tokens as length', () => {
    const response = convertToCanonicalResponse(fixture('text-response.json'), 'gpt-5');
    expect(response.content).toEqual([{ type: 'text', text: 'Your balance is 10 dollars, and nothing is overdue. 🙂' }]);
    expect(response.finishReason).toEqual({ unified: 'stop', raw: 'completed' });
    const cut = convertToCanonicalResponse(
      { ...(fixture('text-response.json') as object), status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } },
      'gpt-5',
    );
    expect(cut.finishReason).toEqual({ unified: 'length', raw: 'max_output_tokens' });
  });

  it('refuses a chat completion body', () => {
    expect(() => convertToCanonicalResponse({ id: 'x', object: 'chat.completion', model: 'm', choices: [] }, 'm')).toThrow(/OpenAI Responses response body/);
  });
});
