import { describe, expect, it } from 'vitest';
import { applyForkOverrides } from './fork-overrides.ts';

const apply = (body: unknown, systemPrompt: string) => JSON.parse(applyForkOverrides(JSON.stringify(body), { systemPrompt }));

describe('applyForkOverrides on OpenAI Responses bodies', () => {
  it('replaces `instructions`', () => {
    expect(apply({ model: 'm', instructions: 'old', input: 'hi' }, 'new')).toEqual({ model: 'm', instructions: 'new', input: 'hi' });
  });
  it('replaces the first system or developer item when the agent put the prompt in `input`', () => {
    const body = {
      model: 'm',
      input: [
        { role: 'developer', content: 'old' },
        { role: 'user', content: 'hi' },
      ],
    };
    expect(apply(body, 'new').input).toEqual([
      { role: 'developer', content: 'new' },
      { role: 'user', content: 'hi' },
    ]);
  });
  it('adds `instructions` when there was no system prompt, leaving input alone', () => {
    expect(apply({ model: 'm', input: [{ role: 'user', content: 'hi' }] }, 'new')).toEqual({
      model: 'm',
      input: [{ role: 'user', content: 'hi' }],
      instructions: 'new',
    });
  });
  it('still replaces a chat completions system message', () => {
    expect(apply({ model: 'm', messages: [{ role: 'system', content: 'old' }] }, 'new').messages).toEqual([{ role: 'system', content: 'new' }]);
  });
});
