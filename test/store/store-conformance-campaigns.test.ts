import { expect, it } from 'vitest';
import {
  AUDIT_GENESIS_HASH,
  type AuditDraft,
  type AuditRecord,
  auditEntryHash,
  type CampaignArm,
  type CampaignItemRecord,
  type CampaignRecord,
  type CampaignResultRecord,
  type CorrectionRecord,
  type DecisionRecord,
  StoreError,
  type TriageRecord,
} from '../../src/store/index.ts';
import { describeEachBackend, writeRun } from './store-backends.ts';
import { buildRun } from './tape-builder.ts';

const campaign = (campaignId: string, createdAt = 1_000): CampaignRecord => ({
  campaignId,
  createdAt,
  plan: { selection: { type: 'refund' }, candidate: { model: 'gpt-next' }, sample: 0.25, noiseFloor: null, exclusions: ['run-x:1'] },
});

const item = (campaignId: string, itemId: string, chunk: number, arms: CampaignArm[] = ['candidate']): CampaignItemRecord => ({
  campaignId,
  itemId,
  chunk,
  arms,
  item: { decisionId: itemId, facts: { amount: 12.5, note: 'ünïcode ✓', refunded: null } },
});

const result = (campaignId: string, itemId: string, arm: CampaignArm, value: string, at = 2_000): CampaignResultRecord => ({
  campaignId,
  itemId,
  arm,
  at,
  result: { value, tokens: [10, 2] },
});

const triage = (campaignId: string, itemId: string, action: string): TriageRecord => ({ campaignId, itemId, action, rule: `rule-${action}` });

const correction = (idempotencyKey: string, campaignId: string, itemId: string, overrides: Partial<CorrectionRecord> = {}): CorrectionRecord => ({
  idempotencyKey,
  campaignId,
  itemId,
  status: 'pending',
  attempts: 0,
  lastError: null,
  appliedAt: null,
  correction: { from: 'approve', to: 'deny', reason: { rule: 'policy-7' } },
  ...overrides,
});

const draft = (campaignId: string | null, action: string, details: unknown, at = 3_000): AuditDraft => ({ at, actor: 'alice', action, campaignId, details });

/** The campaign part of the conformance suite: every backend keeps the same rows and invariants. */
describeEachBackend('Store conformance, campaigns', ({ backend, open }) => {
  it('round-trips campaigns and their items, items in chunk then item order, filtered by chunk', async () => {
    const { campaigns } = await open();
    const later = campaign('c-later', 2_000);
    const laterItems = [
      item('c-later', 'run-b:4', 1),
      item('c-later', 'run-c:2', 0, ['candidate', 'incumbent']),
      item('c-later', 'run-a:4', 1),
      item('c-later', 'run-a:1', 2),
    ];
    const earlier = campaign('c-earlier', 1_000);
    await campaigns.create(later, laterItems);
    await campaigns.create(earlier, [item('c-earlier', 'run-z:1', 0)]);

    expect(await campaigns.get('c-later')).toEqual(later);
    expect(await campaigns.get('missing')).toBeUndefined();
    expect(await campaigns.list()).toEqual([earlier, later]);
    const sorted = [laterItems[1], laterItems[2], laterItems[0], laterItems[3]];
    expect(await campaigns.items('c-later')).toEqual(sorted);
    expect(await campaigns.items('c-later', [1])).toEqual([laterItems[2], laterItems[0]]);
    expect(await campaigns.items('c-later', [0, 2, 7])).toEqual([laterItems[1], laterItems[3]]);
    expect(await campaigns.items('c-earlier')).toEqual([item('c-earlier', 'run-z:1', 0)]);
    expect(await campaigns.items('missing')).toEqual([]);
  });

  it('refuses to create a campaign id twice and keeps the first', async () => {
    const { campaigns } = await open();
    const first = campaign('c1');
    await campaigns.create(first, [item('c1', 'run-a:1', 0)]);
    await expect(campaigns.create({ ...first, createdAt: 5, plan: { other: true } }, [item('c1', 'run-b:1', 3)])).rejects.toBeInstanceOf(StoreError);
    expect(await campaigns.list()).toEqual([first]);
    expect(await campaigns.items('c1')).toEqual([item('c1', 'run-a:1', 0)]);
  });

  it('keeps the first result per campaign, item and arm', async () => {
    const { campaigns } = await open();
    const kept = [result('c1', 'run-a:1', 'candidate', 'approve'), result('c1', 'run-a:1', 'incumbent', 'deny'), result('c2', 'run-a:1', 'candidate', 'hold')];
    expect(await campaigns.putResults(kept)).toBe(3);
    const retried = [result('c1', 'run-a:1', 'candidate', 'changed', 9_000), result('c1', 'run-b:1', 'candidate', 'approve')];
    expect(await campaigns.putResults(retried)).toBe(1);
    expect(await campaigns.putResults([result('c1', 'run-c:1', 'candidate', 'first'), result('c1', 'run-c:1', 'candidate', 'second')])).toBe(1);

    expect(await campaigns.results('c1')).toEqual([kept[0], kept[1], retried[1], result('c1', 'run-c:1', 'candidate', 'first')]);
    expect(await campaigns.results('c2')).toEqual([kept[2]]);
    expect(await campaigns.results('missing')).toEqual([]);
  });

  it('reads the results of some chunks only, for a worker that took those chunks', async () => {
    const { campaigns } = await open();
    await campaigns.create(campaign('c1'), [item('c1', 'run-a:1', 0, ['candidate', 'incumbent']), item('c1', 'run-b:1', 1), item('c1', 'run-c:1', 2)]);
    await campaigns.create(campaign('c2'), [item('c2', 'run-a:1', 1)]);
    const a = [result('c1', 'run-a:1', 'candidate', 'approve'), result('c1', 'run-a:1', 'incumbent', 'deny')];
    const b = result('c1', 'run-b:1', 'candidate', 'hold');
    const c = result('c1', 'run-c:1', 'candidate', 'approve');
    await campaigns.putResults([c, b, ...a, result('c2', 'run-a:1', 'candidate', 'other')]);
    expect(await campaigns.results('c1', [1])).toEqual([b]);
    expect(await campaigns.results('c1', [0, 2])).toEqual([...a, c]);
    expect(await campaigns.results('c1', [7])).toEqual([]);
    expect(await campaigns.results('c1', [])).toEqual([]);
  });

  it('replaces the triage of a campaign instead of adding to it', async () => {
    const { campaigns } = await open();
    await campaigns.replaceTriage('c1', [triage('c1', 'run-b:1', 'review'), triage('c1', 'run-a:1', 'correct')]);
    await campaigns.replaceTriage('c2', [triage('c2', 'run-a:1', 'ignore')]);
    expect(await campaigns.triage('c1')).toEqual([triage('c1', 'run-a:1', 'correct'), triage('c1', 'run-b:1', 'review')]);

    await campaigns.replaceTriage('c1', [triage('c1', 'run-c:1', 'review')]);
    expect(await campaigns.triage('c1')).toEqual([triage('c1', 'run-c:1', 'review')]);
    expect(await campaigns.triage('c2')).toEqual([triage('c2', 'run-a:1', 'ignore')]);
    await campaigns.replaceTriage('c1', []);
    expect(await campaigns.triage('c1')).toEqual([]);
  });

  it('appends verdicts and lists them oldest first per campaign', async () => {
    const { campaigns } = await open();
    const first = { campaignId: 'c1', itemId: 'run-b:1', verdict: 'incumbent-right', reviewer: 'alice', note: 'matches policy ✓', at: 10 } as const;
    const other = { ...first, campaignId: 'c2', verdict: 'unsure', at: 11 } as const;
    const second = { ...first, itemId: 'run-a:1', verdict: 'both-wrong', at: 12 } as const;
    const revised = { ...first, verdict: 'candidate-right', reviewer: 'bob', note: '', at: 13 } as const;
    for (const verdict of [first, other, second, revised]) await campaigns.addVerdict(verdict);
    expect(await campaigns.verdicts('c1')).toEqual([first, second, revised]);
    expect(await campaigns.verdicts('c2')).toEqual([other]);
  });

  it('adds corrections once per idempotency key and updates only their progress', async () => {
    const { campaigns } = await open();
    const k1 = correction('k1', 'c1', 'run-b:1');
    const k2 = correction('k2', 'c1', 'run-a:1');
    const k3 = correction('k3', 'c2', 'run-a:1');
    expect(await campaigns.putCorrections([k1, k2, k3])).toBe(3);
    const k4 = correction('k4', 'c1', 'run-a:1');
    expect(await campaigns.putCorrections([{ ...k1, status: 'failed', correction: 'changed' }, k4])).toBe(1);
    expect(await campaigns.corrections('c1')).toEqual([k2, k4, k1]);
    expect(await campaigns.corrections('c2')).toEqual([k3]);

    await campaigns.updateCorrection('k1', { status: 'failed', attempts: 1, lastError: 'timeout', appliedAt: null });
    expect((await campaigns.corrections('c1'))[2]).toEqual({ ...k1, status: 'failed', attempts: 1, lastError: 'timeout' });
    // Only the four progress fields change, even when the caller passes a whole record.
    const whole: CorrectionRecord = { ...k1, itemId: 'run-z:9', correction: 'changed', status: 'applied', attempts: 2, appliedAt: 7_000 };
    await campaigns.updateCorrection('k1', whole);
    expect((await campaigns.corrections('c1'))[2]).toEqual({ ...k1, status: 'applied', attempts: 2, lastError: null, appliedAt: 7_000 });

    await expect(campaigns.updateCorrection('missing', { status: 'failed', attempts: 1, lastError: 'x', appliedAt: null })).rejects.toBeInstanceOf(StoreError);
    expect(await campaigns.corrections('c1')).toHaveLength(3);
  });

  it('records an applied correction with its superseding decision, once', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    await writeRun(store, run);
    const original = run.decisions[0] as DecisionRecord;
    const superseding: DecisionRecord = {
      ...original,
      decisionId: `${original.decisionId}:c1`,
      value: 'deny',
      recordedAt: 9_000,
      supersedes: original.decisionId,
    };
    const failed = correction('k1', 'c1', original.decisionId, { status: 'failed', attempts: 1, lastError: 'timeout' });
    await store.campaigns.putCorrections([failed]);

    await expect(
      store.campaigns.recordApplied('missing', 9_000, 1, { ...superseding, decisionId: 'other' }, draft('c1', 'correction.applied', {})),
    ).rejects.toBeInstanceOf(StoreError);
    expect(await store.listDecisions({ includeSuperseded: true })).toEqual([original]);

    await store.campaigns.recordApplied('k1', 9_000, 2, superseding, draft('c1', 'correction.applied', { key: 'k1' }));
    expect(await store.campaigns.corrections('c1')).toEqual([{ ...failed, status: 'applied', attempts: 2, lastError: null, appliedAt: 9_000 }]);
    expect(await store.listDecisions({})).toEqual([superseding]);
    expect(await store.listDecisions({ includeSuperseded: true })).toEqual([original, superseding]);

    await store.campaigns.recordApplied('k1', 9_500, 3, superseding, draft('c1', 'correction.applied', { key: 'k1' }));
    expect(await store.listDecisions({ includeSuperseded: true })).toEqual([original, superseding]);
    expect((await store.campaigns.corrections('c1'))[0]).toMatchObject({ status: 'applied', attempts: 3, appliedAt: 9_500 });
  });

  it('grants one live claim per decision, lets it lapse or be released, and reports a decision already corrected', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    await writeRun(store, run);
    const original = run.decisions[0] as DecisionRecord;
    const decisionId = original.decisionId;
    await store.campaigns.putCorrections([correction('k1', 'c1', decisionId), correction('k2', 'c2', decisionId)]);
    const claim = (idempotencyKey: string, at: number) => store.campaigns.claimCorrection({ decisionId, idempotencyKey, at, expiresAt: at + 1_000 });

    expect(await claim('k1', 10_000)).toBe('claimed');
    expect(await claim('k2', 10_500)).toBe('claimed-elsewhere');
    // The same correction from another apply is no exception: one claim, whoever holds it.
    expect(await claim('k1', 10_600)).toBe('claimed-elsewhere');
    expect(await claim('k2', 11_001)).toBe('claimed');

    // Releasing another correction's claim does nothing; releasing one's own frees the decision.
    await store.campaigns.releaseCorrectionClaim(decisionId, 'k1');
    expect(await claim('k1', 11_100)).toBe('claimed-elsewhere');
    await store.campaigns.releaseCorrectionClaim(decisionId, 'k2');
    expect(await claim('k1', 11_200)).toBe('claimed');

    await store.campaigns.recordApplied(
      'k1',
      11_300,
      1,
      { ...original, decisionId: `${decisionId}:c1`, value: 'deny', supersedes: decisionId },
      draft('c1', 'correction.applied', { key: 'k1' }),
    );
    expect(await claim('k2', 11_400)).toBe('corrected');
  });

  it('refuses a second correction of a decision another correction already superseded, and audits nothing for it', async () => {
    const store = await open();
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    await writeRun(store, run);
    const original = run.decisions[0] as DecisionRecord;
    const supersede = (suffix: string): DecisionRecord => ({
      ...original,
      decisionId: `${original.decisionId}:${suffix}`,
      value: 'deny',
      supersedes: original.decisionId,
    });
    await store.campaigns.putCorrections([correction('k1', 'c1', original.decisionId), correction('k2', 'c2', original.decisionId)]);
    await store.campaigns.recordApplied('k1', 9_000, 1, supersede('c1'), draft('c1', 'correction.applied', { key: 'k1' }));
    await expect(store.campaigns.recordApplied('k2', 9_100, 1, supersede('c2'), draft('c2', 'correction.applied', { key: 'k2' }))).rejects.toBeInstanceOf(
      StoreError,
    );
    expect((await store.listDecisions({ includeSuperseded: true })).map((decision) => decision.decisionId)).toEqual([
      original.decisionId,
      `${original.decisionId}:c1`,
    ]);
    expect((await store.campaigns.corrections('c2'))[0]?.status).toBe('pending');
    expect((await store.campaigns.audit()).map((entry) => [entry.campaignId, entry.action])).toEqual([['c1', 'correction.applied']]);
  });

  it('writes the audit entry a change carries together with the change', async () => {
    const { campaigns } = await open();
    await campaigns.create(campaign('c1'), [item('c1', 'run-a:1', 0)], draft('c1', 'campaign.created', { items: 1 }));
    await campaigns.replaceTriage('c1', [triage('c1', 'run-a:1', 'review')], draft('c1', 'triage.applied', null));
    await campaigns.addVerdict(
      { campaignId: 'c1', itemId: 'run-a:1', verdict: 'unsure', reviewer: 'alice', note: '', at: 1 },
      draft('c1', 'review.verdict', null),
    );
    expect(await campaigns.putCorrections([correction('k1', 'c1', 'run-a:1')], (added) => draft('c1', 'remediation.planned', { added }))).toBe(1);
    // Nothing new: no audit entry either.
    expect(await campaigns.putCorrections([correction('k1', 'c1', 'run-a:1')], (added) => draft('c1', 'remediation.planned', { added }))).toBe(0);
    await campaigns.updateCorrection('k1', { status: 'cancelled', attempts: 0, lastError: null, appliedAt: null }, draft('c1', 'correction.cancelled', null));
    // A change that fails leaves no audit entry behind.
    await expect(campaigns.create(campaign('c1'), [], draft('c1', 'campaign.created', null))).rejects.toBeInstanceOf(StoreError);
    const entries = await campaigns.audit();
    expect(entries.map((entry) => entry.action)).toEqual([
      'campaign.created',
      'triage.applied',
      'review.verdict',
      'remediation.planned',
      'correction.cancelled',
    ]);
    expect(entries[3]?.details).toEqual({ added: 1 });
  });

  it('chains audit entries by hash from the genesis hash and filters them by campaign', async () => {
    const { campaigns } = await open();
    const details = { items: 3, nested: { arms: ['candidate', 'incumbent'], note: 'ü' } };
    const drafts = [
      draft('c1', 'campaign.created', details),
      draft(null, 'store.opened', null),
      draft('c2', 'campaign.created', 'text'),
      draft('c1', 'review.verdict', [1, 2]),
    ];
    const appended: AuditRecord[] = [];
    for (const entry of drafts) appended.push(structuredClone(await campaigns.appendAudit(entry)));
    details.nested.note = 'changed after append';

    expect(appended.map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
    expect(appended.map((entry) => entry.prevHash)).toEqual([AUDIT_GENESIS_HASH, ...appended.slice(0, -1).map((entry) => entry.hash)]);
    for (const { hash, ...unsealed } of appended) expect(hash).toBe(auditEntryHash(unsealed));
    expect(appended[0]?.details).toEqual({ items: 3, nested: { arms: ['candidate', 'incumbent'], note: 'ü' } });
    expect(appended.slice(1).map(({ actor, action, campaignId, details }) => ({ actor, action, campaignId, details }))).toEqual(
      drafts.slice(1).map(({ actor, action, campaignId, details }) => ({ actor, action, campaignId, details })),
    );
    expect(await campaigns.audit()).toEqual(appended);
    expect(await campaigns.audit({})).toEqual(appended);
    expect(await campaigns.audit({ campaignId: 'c1' })).toEqual([appended[0], appended[3]]);
    expect(await campaigns.audit({ campaignId: 'missing' })).toEqual([]);
  });

  it('imports another log sealed as it is, with the correction rows it vouches for, skipping what it holds', async () => {
    const source = await open('source');
    const run = buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve', amount: 12.5 }] });
    await writeRun(source, run);
    const original = run.decisions[0] as DecisionRecord;
    const superseding: DecisionRecord = { ...original, decisionId: `${original.decisionId}/k1`, value: 'deny', supersedes: original.decisionId };
    await source.campaigns.create(campaign('c1'), [item('c1', original.decisionId, 0)], draft('c1', 'campaign.created', { items: 1 }));
    await source.campaigns.putCorrections([correction('k1', 'c1', original.decisionId)]);
    await source.campaigns.recordApplied('k1', 4_000, 1, superseding, draft('c1', 'correction.applied', { key: 'k1' }));
    await source.campaigns.appendAudit(draft(null, 'note', { nested: { list: [1, 'ü', null] } }));
    const log = await source.campaigns.audit();

    const target = await open('target');
    await writeRun(target, run);
    expect(await target.campaigns.importAudit(log.slice(0, 2), [superseding])).toBe(2);
    // Again, with the rest: only the new entry lands, and the row already in the ledger stays.
    expect(await target.campaigns.importAudit(log, [{ ...superseding, value: 'changed' }])).toBe(1);
    expect(await target.campaigns.importAudit(log, [])).toBe(0);
    expect(await target.campaigns.audit()).toEqual(log);
    expect(await target.listDecisions({ includeSuperseded: true })).toEqual(await source.listDecisions({ includeSuperseded: true }));
    // The next entry appended continues the imported chain.
    expect(await target.campaigns.appendAudit(draft('c1', 'review.verdict', null))).toMatchObject({ seq: 4, prevHash: log[2]?.hash });
  });

  it('refuses an imported entry that is not the next link of its chain, or was changed, and writes nothing of the call', async () => {
    const source = await open('source');
    for (const action of ['campaign.created', 'triage.applied', 'review.verdict']) await source.campaigns.appendAudit(draft('c1', action, { action }));
    const log = await source.campaigns.audit();
    const row: DecisionRecord = {
      decisionId: 'run-x:1/k9',
      runId: 'run-x',
      seq: 1,
      agent: 'a',
      type: 'refund',
      subject: 's',
      value: 'deny',
      amount: null,
      currency: null,
      reversible: true,
      effectiveAt: 1,
      recordedAt: 1,
      modelServed: null,
      attributes: {},
      supersedes: 'run-x:1',
    };

    const other = await open('other');
    await other.campaigns.appendAudit(draft('c9', 'campaign.created', { items: 0 }));
    const own = await other.campaigns.audit();
    await expect(other.campaigns.importAudit(log, [row])).rejects.toThrow(/holds a different entry 1/);

    const fresh = await open('fresh');
    await expect(fresh.campaigns.importAudit(log.slice(1), [row])).rejects.toThrow(/does not continue this audit log, which ends at entry 0/);
    const changed = log.map((entry, index) => (index === 2 ? { ...entry, details: { action: 'edited' } } : entry));
    await expect(fresh.campaigns.importAudit(changed, [row])).rejects.toThrow(/does not match its hash/);
    const reordered = [log[0], log[2], log[1]] as AuditRecord[];
    await expect(fresh.campaigns.importAudit(reordered, [row])).rejects.toBeInstanceOf(StoreError);

    expect(await other.campaigns.audit()).toEqual(own);
    expect(await fresh.campaigns.audit()).toEqual([]);
    expect(await fresh.listDecisions({ includeSuperseded: true })).toEqual([]);
  });

  it('refuses campaign calls after close', async () => {
    const store = await open();
    await store.campaigns.create(campaign('c1'), [item('c1', 'run-a:1', 0)]);
    await store.close();
    const { campaigns } = store;
    const calls = [
      () => campaigns.create(campaign('c2'), []),
      () => campaigns.get('c1'),
      () => campaigns.list(),
      () => campaigns.items('c1'),
      () => campaigns.putResults([result('c1', 'run-a:1', 'candidate', 'approve')]),
      () => campaigns.results('c1'),
      () => campaigns.replaceTriage('c1', []),
      () => campaigns.triage('c1'),
      () => campaigns.addVerdict({ campaignId: 'c1', itemId: 'run-a:1', verdict: 'unsure', reviewer: 'alice', note: '', at: 1 }),
      () => campaigns.verdicts('c1'),
      () => campaigns.putCorrections([correction('k1', 'c1', 'run-a:1')]),
      () => campaigns.updateCorrection('k1', { status: 'failed', attempts: 1, lastError: null, appliedAt: null }),
      () => campaigns.corrections('c1'),
      () => campaigns.appendAudit(draft('c1', 'campaign.created', null)),
      () => campaigns.importAudit([], []),
      () => campaigns.audit(),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(StoreError);
  });

  if (backend === 'sqlite')
    it('keeps campaigns, results, triage, verdicts, corrections and the audit chain across a reopen', async () => {
      const store = await open('durable');
      await store.campaigns.create(campaign('c1'), [item('c1', 'run-a:1', 0), item('c1', 'run-b:1', 1)]);
      await store.campaigns.putResults([result('c1', 'run-a:1', 'candidate', 'approve')]);
      await store.campaigns.replaceTriage('c1', [triage('c1', 'run-a:1', 'review')]);
      const verdict = { campaignId: 'c1', itemId: 'run-a:1', verdict: 'candidate-right', reviewer: 'alice', note: 'ok', at: 5 } as const;
      await store.campaigns.addVerdict(verdict);
      await store.campaigns.putCorrections([correction('k1', 'c1', 'run-a:1')]);
      const audit = [
        await store.campaigns.appendAudit(draft('c1', 'campaign.created', { items: 2 })),
        await store.campaigns.appendAudit(draft('c1', 'triage.applied', null)),
      ];
      await store.close();

      const { campaigns } = await open('durable');
      expect(await campaigns.list()).toEqual([campaign('c1')]);
      expect(await campaigns.items('c1')).toEqual([item('c1', 'run-a:1', 0), item('c1', 'run-b:1', 1)]);
      expect(await campaigns.putResults([result('c1', 'run-a:1', 'candidate', 'changed')])).toBe(0);
      expect(await campaigns.results('c1')).toEqual([result('c1', 'run-a:1', 'candidate', 'approve')]);
      expect(await campaigns.triage('c1')).toEqual([triage('c1', 'run-a:1', 'review')]);
      expect(await campaigns.verdicts('c1')).toEqual([verdict]);
      expect(await campaigns.corrections('c1')).toEqual([correction('k1', 'c1', 'run-a:1')]);
      expect(await campaigns.audit()).toEqual(audit);
      const next = await campaigns.appendAudit(draft('c1', 'review.verdict', null));
      expect(next).toMatchObject({ seq: 3, prevHash: audit[1]?.hash });
    });
});
