import { expect, it } from 'vitest';
import type { CorrectionClaim, CorrectionRecord, DecisionRecord, RunWriter } from '../../src/store/index.ts';
import { describeEachBackend, writeRun } from './store-backends.ts';
import { buildRun } from './tape-builder.ts';

const correction = (idempotencyKey: string, itemId: string): CorrectionRecord => ({
  idempotencyKey,
  campaignId: 'c1',
  itemId,
  status: 'pending',
  attempts: 0,
  lastError: null,
  appliedAt: null,
  correction: { from: 'approve', to: 'deny' },
});

describeEachBackend('a correction claim whose process is gone', ({ open }) => {
  it('is taken over at once, with an audit entry, only when the caller can tell its holder is gone', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    await writeRun(store, run);
    const decisionId = (run.decisions[0] as DecisionRecord).decisionId;
    await store.campaigns.putCorrections([correction('k1', decisionId)]);
    const dead: RunWriter = { pid: 4_000_001, host: 'box-a' };
    const alive: RunWriter = { pid: 42, host: 'box-a' };
    const claim = (at: number, holder: RunWriter): CorrectionClaim => ({ decisionId, idempotencyKey: 'k1', at, expiresAt: at + 600_000, holder });
    const seen: CorrectionClaim[] = [];
    const takeover = {
      isHolderAlive: (holder: RunWriter) => holder.pid !== dead.pid,
      audit: (previous: CorrectionClaim) => {
        seen.push(previous);
        return { at: previous.at + 1, actor: 'bob', action: 'correction.claim.taken-over', campaignId: 'c1', details: { from: previous.holder } };
      },
    };

    expect(await store.campaigns.claimCorrection(claim(10_000, dead))).toBe('claimed');
    // Without a way to tell, a live claim stays its holder's until it lapses.
    expect(await store.campaigns.claimCorrection(claim(10_100, alive))).toBe('claimed-elsewhere');
    expect(await store.campaigns.claimCorrection(claim(10_200, alive), takeover)).toBe('taken-over');
    expect(seen).toEqual([expect.objectContaining({ at: 10_000, holder: dead })]);
    // The new holder is alive: nobody takes it from it.
    expect(await store.campaigns.claimCorrection(claim(10_300, dead), takeover)).toBe('claimed-elsewhere');
    const audit = await store.campaigns.audit({ campaignId: 'c1' });
    expect(audit.map((entry) => [entry.action, entry.details])).toEqual([['correction.claim.taken-over', { from: dead }]]);
  });
});
