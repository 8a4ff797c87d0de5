import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_TOOLS,
  anthropicDecisionMessages,
  MORE_TIME_MESSAGE,
  makeAccount,
  OPENAI_TOOLS,
  openAiDecisionMessages,
} from './__fixtures__/support-conversation.ts';
import { classifyIntent, extractConversationFeatures } from './conversation-features.ts';
import { convertAnthropicMessagesRequest } from './convert-anthropic-messages-request.ts';
import { convertOpenAiChatRequest } from './convert-openai-chat-request.ts';

describe('classifyIntent', () => {
  it.each([
    ['Can I get an extension until my next paycheck?', 'more_time'],
    ['I can\u2019t pay this week', 'more_time'],
    [MORE_TIME_MESSAGE, 'more_time'],
    ['Please close my account today.', 'close'],
    ['I want to cancel my subscription', 'close'],
    ['I was charged twice, I want my money back', 'refund'],
    ['Why is my invoice higher this month?', 'question'],
    ["I don't want to cancel my plan, what are my options?", 'question'],
  ])('%s -> %s', (text, intent) => {
    expect(classifyIntent(text)).toBe(intent);
  });
});

describe('extractConversationFeatures', () => {
  it('sees the identify phase and the customer id before any lookup', () => {
    const request = convertOpenAiChatRequest({ model: 'support-sim', messages: [{ role: 'user', content: 'Refund please, I am C-77.' }], tools: OPENAI_TOOLS });
    expect(extractConversationFeatures(request.messages)).toMatchObject({ phase: 'identify', intent: 'refund', customerId: 'C-77', account: undefined });
  });

  it('falls back to the system prompt for the customer id', () => {
    const features = extractConversationFeatures([
      { role: 'system', text: 'Customer on this chat: C-9001' },
      { role: 'user', text: 'hello' },
    ]);
    expect(features.customerId).toBe('C-9001');
  });

  it('reads the same decision step from OpenAI and Anthropic wire formats', () => {
    const account = makeAccount();
    const fromOpenAi = convertOpenAiChatRequest({ model: 'support-sim', messages: openAiDecisionMessages(MORE_TIME_MESSAGE, account), tools: OPENAI_TOOLS });
    const fromAnthropic = convertAnthropicMessagesRequest({
      model: 'support-sim',
      max_tokens: 256,
      messages: anthropicDecisionMessages(MORE_TIME_MESSAGE, account),
      tools: ANTHROPIC_TOOLS,
    });
    const expected = { phase: 'decide', intent: 'more_time', customerId: 'C-1042', account, completedAction: undefined };
    expect(extractConversationFeatures(fromOpenAi.messages)).toEqual(expected);
    expect(extractConversationFeatures(fromAnthropic.messages)).toEqual(expected);
  });

  it('enters the confirm phase after an action tool answered', () => {
    const messages = [
      ...openAiDecisionMessages(MORE_TIME_MESSAGE),
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_grace', type: 'function', function: { name: 'set_grace_period', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_grace', content: '{"ok":true}' },
    ];
    const features = extractConversationFeatures(convertOpenAiChatRequest({ model: 'support-sim', messages }).messages);
    expect(features.phase).toBe('confirm');
    expect(features.completedAction).toEqual({ toolName: 'set_grace_period', resultText: '{"ok":true}' });
  });

  it('keeps the decide phase without an account when the lookup returned an error', () => {
    const messages = openAiDecisionMessages('refund please C-5');
    messages[3] = { role: 'tool', tool_call_id: 'call_lookup', content: 'error: no such customer' };
    const features = extractConversationFeatures(convertOpenAiChatRequest({ model: 'support-sim', messages }).messages);
    expect(features).toMatchObject({ phase: 'decide', account: undefined, customerId: 'C-5' });
  });
});
