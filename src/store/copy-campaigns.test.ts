import { describe, expect, it } from 'vitest';
import type { CorrectionRecord } from './campaign-store.ts';
import { applyCampaignCatchUp, type CampaignContent, isCaughtUp, planCampaignCatchUp, readCampaignContent } from './copy-campaigns.ts';
import { createMemoryStore } from './memory/memory-store.ts';

const correction = (idempotencyKey: string, status: CorrectionRecord['status'] = 'pending'): CorrectionRecord => ({
  idempotencyKey,
  campaignId: 'c1',
  itemId: `run-a:${idempotencyKey}`,
  status,
  attempts: status === 'applied' ? 1 : 0,
  lastError: null,
  appliedAt: status === 'applied' ? 50 : null,
  correction: { to: 'deny' },
});

const source: CampaignContent = {
  campaign: { campaignId: 'c1', createdAt: 1, plan: { candidate: 'b' } },
  items: [
    { campaignId: 'c1', itemId: 'run-a:1', chunk: 0, arms: ['candidate'], item: { value: 'approve' } },
    { campaignId: 'c1', itemId: 'run-a:2', chunk: 0, arms: ['candidate', 'incumbent'], item: { value: 'deny' } },
  ],
  results: [
    { campaignId: 'c1', itemId: 'run-a:1', arm: 'candidate', at: 10, result: { value: 'deny' } },
    { campaignId: 'c1', itemId: 'run-a:2', arm: 'candidate', at: 11, result: { value: 'deny' } },
    { campaignId: 'c1', itemId: 'run-a:2', arm: 'incumbent', at: 12, result: { value: 'deny' } },
  ],
  triage: [{ campaignId: 'c1', itemId: 'run-a:1', action: 'correct', rule: 'default' }],
  verdicts: [
    { campaignId: 'c1', itemId: 'run-a:1', verdict: 'unsure', reviewer: 'bob', note: '', at: 20 },
    { campaignId: 'c1', itemId: 'run-a:1', verdict: 'candidate-right', reviewer: 'bob', note: 'checked', at: 21 },
  ],
  corrections: [correction('1', 'applied'), correction('2')],
};

/** A target holding `source` as a copy killed part-way through it would have left it. */
async function partialTarget(): Promise<ReturnType<typeof createMemoryStore>> {
  const target = createMemoryStore();
  await target.campaigns.create(source.campaign, source.items);
  await target.campaigns.putResults(source.results.slice(0, 1));
  await target.campaigns.addVerdict(source.verdicts[0] as CampaignContent['verdicts'][number]);
  await target.campaigns.putCorrections([correction('1', 'pending')]);
  return target;
}

describe('planCampaignCatchUp', () => {
  it('brings a campaign a copy left part-way to the source, and then has nothing left to do', async () => {
    const target = await partialTarget();
    const read = async () => readCampaignContent(target.campaigns, source.campaign);
    const plan = planCampaignCatchUp(source, await read());
    expect(plan).toEqual({
      create: false,
      results: source.results.slice(1),
      triage: source.triage,
      verdicts: source.verdicts.slice(1),
      newCorrections: [correction('2')],
      correctionUpdates: [correction('1', 'applied')],
    });
    await applyCampaignCatchUp(target.campaigns, source, plan as Exclude<typeof plan, string>);
    expect(await read()).toEqual(source);
    expect(isCaughtUp(planCampaignCatchUp(source, await read()) as Exclude<typeof plan, string>)).toBe(true);
  });

  it('names how a campaign under the same id is another one', async () => {
    const target = await partialTarget();
    const held = await readCampaignContent(target.campaigns, source.campaign);
    const other = (change: Partial<CampaignContent>) => planCampaignCatchUp(source, { ...held, ...change });
    expect(other({ campaign: { ...source.campaign, createdAt: 2 } })).toBe('its plan or creation time differs');
    expect(other({ items: source.items.slice(1) })).toBe('its selected decisions differ');
    expect(other({ results: [{ ...(source.results[0] as CampaignContent['results'][number]), result: { value: 'approve' } }] })).toBe(
      'it holds a candidate result for run-a:1 the source does not have',
    );
    expect(other({ verdicts: source.verdicts.slice(1) })).toBe('it holds review verdicts the source does not have');
    expect(other({ corrections: [{ ...correction('1'), correction: { to: 'approve' } }] })).toBe('it holds correction 1, which the source does not have');
  });
});
