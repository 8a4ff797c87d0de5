import { describe, expect, it } from 'vitest';
import type { CampaignItem } from './campaign-types.ts';
import { compactItem, expandItem, sharedItemFields } from './compact-items.ts';

const item = (runId: string, seq: number, over: Partial<CampaignItem> = {}): CampaignItem => ({
  decisionId: `${runId}:${seq}`,
  runId,
  seq,
  agent: 'support-agent',
  subject: 'C-1',
  value: 'approve',
  amount: 12.5,
  currency: 'USD',
  reversible: true,
  effectiveAt: 1_796_000_000_000,
  attributes: { plan: 'plus' },
  stepSeq: 8,
  format: 'openai-chat',
  url: 'http://127.0.0.1:1/v1/chat/completions',
  modelRequested: 'support-sim',
  modelServed: 'support-sim-2026-01-15',
  requestBody: 'a'.repeat(64),
  firstModelSeq: 4,
  usage: { input: 2700, output: 20 },
  ...over,
});

describe('campaign items are stored compactly', () => {
  const items = [item('run_a:b', 16), item('run_c', 9, { modelServed: null, value: 'deny' })];
  const shared = sharedItemFields(items);

  it('keeps once what every item shares, and in each item what its id does not say', () => {
    expect(shared).toEqual({
      agent: 'support-agent',
      currency: 'USD',
      format: 'openai-chat',
      url: 'http://127.0.0.1:1/v1/chat/completions',
      modelRequested: 'support-sim',
    });
    const stored = compactItem(items[0] as CampaignItem, shared);
    expect(Object.keys(stored)).not.toContain('decisionId');
    expect(Object.keys(stored)).not.toContain('url');
    expect(stored).toMatchObject({ value: 'approve', modelServed: 'support-sim-2026-01-15' });
    expect(JSON.stringify(stored).length).toBeLessThan(0.65 * JSON.stringify(items[0]).length);
  });

  it('gives back every item exactly, a run id with a colon in it too', () => {
    for (const whole of items) expect(expandItem(whole.decisionId, compactItem(whole, shared), shared)).toEqual(whole);
  });

  it('leaves an item stored whole (before compaction) as it was', () => {
    const whole = item('run_x', 3);
    expect(expandItem(whole.decisionId, whole, undefined)).toEqual(whole);
    // An id that is not `runId:seq` keeps its own fields.
    const odd = item('run_y', 2, { decisionId: 'corr-1' });
    expect(expandItem('corr-1', compactItem(odd, {}), {})).toEqual(odd);
  });
});
