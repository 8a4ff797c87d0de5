import { describe, expect, it } from 'vitest';
import { OPENAI_TOOLS, openAiDecisionMessages } from './__fixtures__/support-conversation.ts';
import { classifyIntent } from './conversation-features.ts';
import { CANDIDATE_VERSION_ID, INCUMBENT_VERSION_ID } from './model-versions.ts';
import { createSeededRandom } from './prng.ts';
import { generateRefundCase } from './refund-population.ts';
import { createSimulatedModel } from './simulated-model.ts';
import { SIMULATOR_ACTIONS } from './simulator-actions.ts';

/**
 * The population targets the demo's backfill story rests on: the incumbent disagrees with itself
 * on about 1% of refund cases, the candidate with the incumbent on about 4%, and the
 * disagreement comes from a minority of borderline cases.
 */
describe('refund population', () => {
  const random = createSeededRandom('refund-population-test');
  const cases = Array.from({ length: 3000 }, (_, index) => generateRefundCase(random, 10_000 + index));
  const model = createSimulatedModel();
  const decide = (version: string, userMessage: string, account: (typeof cases)[number]['account']) =>
    model.probabilities({ model: version, temperature: 0, tools: OPENAI_TOOLS, messages: openAiDecisionMessages(userMessage, account) });

  it('has the stated shape and every message reads as a refund request', () => {
    const duplicateShare = cases.filter((refundCase) => refundCase.account.last_charge.duplicate).length / cases.length;
    expect(duplicateShare).toBeGreaterThan(0.27);
    expect(duplicateShare).toBeLessThan(0.33);
    for (const { account, userMessage } of cases) {
      expect(account.last_charge.amount).toBeGreaterThanOrEqual(10);
      expect(account.last_charge.amount).toBeLessThanOrEqual(500);
      expect(classifyIntent(userMessage)).toBe('refund');
    }
  });

  it('puts incumbent self-disagreement at 0.5-1.5% and candidate flips at 3-5%, from a borderline minority', () => {
    let selfDisagreement = 0;
    let crossDisagreement = 0;
    let borderline = 0;
    for (const { account, userMessage } of cases) {
      const incumbent = decide(INCUMBENT_VERSION_ID, userMessage, account);
      const candidate = decide(CANDIDATE_VERSION_ID, userMessage, account);
      const self = 1 - SIMULATOR_ACTIONS.reduce((sum, action) => sum + incumbent[action] ** 2, 0);
      selfDisagreement += self;
      crossDisagreement += 1 - SIMULATOR_ACTIONS.reduce((sum, action) => sum + incumbent[action] * candidate[action], 0);
      if (self > 0.02) borderline += 1;
    }
    expect(selfDisagreement / cases.length).toBeGreaterThan(0.005);
    expect(selfDisagreement / cases.length).toBeLessThan(0.015);
    expect(crossDisagreement / cases.length).toBeGreaterThan(0.03);
    expect(crossDisagreement / cases.length).toBeLessThan(0.05);
    expect(borderline / cases.length).toBeLessThan(0.1);
  });

  it('accepts a plain function as its uniform source', () => {
    let state = 0;
    const refundCase = generateRefundCase(() => (state = (state + 0.37) % 1));
    expect(refundCase.account.customer_id).toMatch(/^C-\d+$/);
  });
});
