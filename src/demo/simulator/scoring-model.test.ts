import { describe, expect, it } from 'vitest';
import { MORE_TIME_MESSAGE, makeAccount, TOOL_NAMES } from './__fixtures__/support-conversation.ts';
import type { SimulatorMessage } from './conversation-features.ts';
import { CANDIDATE_VERSION_ID, INCUMBENT_VERSION_ID } from './model-versions.ts';
import { trueActionDistribution } from './scoring-model.ts';
import type { SimulatedAccount } from './simulated-account.ts';

function decisionStep(userText: string, account: SimulatedAccount = makeAccount()): SimulatorMessage[] {
  return [
    { role: 'system', text: 'You are a support agent.' },
    { role: 'user', text: userText },
    { role: 'assistant', text: '' },
    { role: 'tool', toolName: 'lookup_account', text: JSON.stringify(account) },
  ];
}

const refundAccount = (charge: Partial<SimulatedAccount['last_charge']>, overrides: Partial<SimulatedAccount> = {}) =>
  makeAccount({ status: 'active', last_charge: { amount: 49, age_days: 10, duplicate: false, ...charge }, ...overrides });

describe('trueActionDistribution at temperature 0', () => {
  it.each([
    [
      'incident, incumbent',
      INCUMBENT_VERSION_ID,
      MORE_TIME_MESSAGE,
      makeAccount(),
      { set_grace_period: 0.9495, close_account: 0.035, escalate_to_human: 0.015 },
    ],
    [
      'incident, candidate',
      CANDIDATE_VERSION_ID,
      MORE_TIME_MESSAGE,
      makeAccount(),
      { set_grace_period: 0.9815, close_account: 0.003, escalate_to_human: 0.015 },
    ],
    [
      'more time, not eligible',
      INCUMBENT_VERSION_ID,
      MORE_TIME_MESSAGE,
      makeAccount({ grace_used_this_year: true }),
      { escalate_to_human: 0.9, reply: 0.08, set_grace_period: 0.02 },
    ],
    ['close', INCUMBENT_VERSION_ID, 'Please close my account C-1042.', makeAccount(), { close_account: 0.99 }],
    ['question', INCUMBENT_VERSION_ID, 'What plan am I on?', makeAccount(), { reply: 0.97 }],
    ['duplicate refund', INCUMBENT_VERSION_ID, 'I was charged twice!', refundAccount({ duplicate: true }), { issue_refund: 1 }],
    ['old charge refund', INCUMBENT_VERSION_ID, 'Refund please', refundAccount({ age_days: 110 }), { deny_refund: 1 }],
    ['large charge refund', INCUMBENT_VERSION_ID, 'Refund please', refundAccount({ amount: 420 }), { escalate_to_human: 1 }],
    ['frequent refunder', INCUMBENT_VERSION_ID, 'Refund please', refundAccount({ age_days: 45 }, { prior_refunds_90d: 3 }), { deny_refund: 1 }],
  ])('%s', (_name, version, text, account, expected) => {
    const distribution = trueActionDistribution({ version, messages: decisionStep(text, account), tools: TOOL_NAMES, temperature: 0 });
    for (const [action, probability] of Object.entries(expected)) expect(distribution[action as keyof typeof distribution]).toBeCloseTo(probability, 3);
    expect(Object.values(distribution).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
  });

  it('has a borderline refund where the versions disagree: a 69-day-old charge', () => {
    const messages = decisionStep('Refund please', refundAccount({ age_days: 69 }, { tenure_months: 12 }));
    const incumbent = trueActionDistribution({ version: INCUMBENT_VERSION_ID, messages, tools: TOOL_NAMES, temperature: 0 });
    const candidate = trueActionDistribution({ version: CANDIDATE_VERSION_ID, messages, tools: TOOL_NAMES, temperature: 0 });
    expect(incumbent.deny_refund).toBeGreaterThan(0.5);
    expect(candidate.issue_refund).toBeGreaterThan(0.5);
  });
});

describe('trueActionDistribution, sampling settings', () => {
  const messages = decisionStep(MORE_TIME_MESSAGE);

  it('spreads more mass at temperature 1 (the default when absent)', () => {
    const cold = trueActionDistribution({ version: INCUMBENT_VERSION_ID, messages, tools: TOOL_NAMES, temperature: 0 });
    const warm = trueActionDistribution({ version: INCUMBENT_VERSION_ID, messages, tools: TOOL_NAMES });
    expect(warm.close_account).toBeGreaterThan(cold.close_account * 3);
    expect(warm.set_grace_period).toBeLessThan(cold.set_grace_period);
    expect(Object.values(warm).reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
  });

  it('never chooses a tool that was not offered, and renormalizes over the rest', () => {
    const tools = TOOL_NAMES.filter((name) => name !== 'close_account');
    const distribution = trueActionDistribution({ version: INCUMBENT_VERSION_ID, messages, tools, temperature: 0 });
    expect(distribution.close_account).toBe(0);
    expect(distribution.set_grace_period).toBeCloseTo(0.9495 / 0.965, 6);
  });

  it('follows tool_choice none, required and a forced tool', () => {
    const at = (toolChoice: Parameters<typeof trueActionDistribution>[0]['toolChoice']) =>
      trueActionDistribution({ version: INCUMBENT_VERSION_ID, messages, tools: TOOL_NAMES, temperature: 0, toolChoice });
    expect(at('none').reply).toBe(1);
    expect(at('required').reply).toBe(0);
    expect(at({ name: 'escalate_to_human' }).escalate_to_human).toBe(1);
  });

  it('looks the customer up first, and only replies once an action is done', () => {
    const lookup = trueActionDistribution({
      version: INCUMBENT_VERSION_ID,
      messages: [{ role: 'user', text: 'refund for C-1' }],
      tools: TOOL_NAMES,
      temperature: 1,
    });
    expect(lookup.lookup_account).toBeGreaterThan(0.9999);
    const done: SimulatorMessage[] = [...messages, { role: 'tool', toolName: 'set_grace_period', text: '{"ok":true}' }];
    expect(trueActionDistribution({ version: INCUMBENT_VERSION_ID, messages: done, tools: TOOL_NAMES, temperature: 0 }).reply).toBe(1);
  });

  it('refuses an alias or unknown name: ground truth is per dated version', () => {
    expect(() => trueActionDistribution({ version: 'support-sim', messages, tools: TOOL_NAMES })).toThrow(TypeError);
  });
});
