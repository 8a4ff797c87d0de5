import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CopyProgress,
  CopyRefusedError,
  copyStore,
  createMemoryStore,
  exportRun,
  openSqliteStore,
  type SqliteStore,
  type Store,
  verifyAuditChain,
  verifyLedger,
  verifyStore,
} from '../../src/store/index.ts';
import { buildRemediatedStore, type RemediatedStore, storeContents } from '../fixtures/remediated-store.ts';
import { writeRun } from './store-backends.ts';
import { buildRun } from './tape-builder.ts';

/**
 * `copyStore` from a SQLite store with everything a team brings (runs, a resample, a campaign with
 * results, triage, a verdict, applied corrections and the audit log) into another store.
 */
let source: RemediatedStore;
const directory = mkdtempSync(join(tmpdir(), 'retrial-copy-'));

beforeAll(async () => {
  source = await buildRemediatedStore({ runs: 300, seed: 'remediation-safety' });
}, 300_000);

afterAll(async () => {
  await source?.dispose();
  rmSync(directory, { recursive: true, force: true });
});

describe('copyStore, SQLite to SQLite', () => {
  let target: SqliteStore;
  let copiedRunIds: string[];

  beforeAll(async () => {
    target = await openSqliteStore(join(directory, 'target.db'));
  });
  afterAll(async () => target?.close());

  it('copies every run, analysis, ledger row, campaign and audit entry, and the target verifies and equals the source', { timeout: 300_000 }, async () => {
    const phases = new Set<string>();
    const result = await copyStore(source.store, target, { onProgress: (progress: CopyProgress) => phases.add(progress.phase) });
    const all = await source.store.listRunIds();
    copiedRunIds = all.filter((runId) => runId !== source.recordingRunId);

    expect(result.verification).toMatchObject({ ok: true, runs: copiedRunIds.length, problems: [], differences: [] });
    expect(result.runs).toEqual({ inSource: all.length, copied: copiedRunIds.length, alreadyPresent: 0, stillRecording: [source.recordingRunId] });
    expect(result.analyses).toEqual({ inSource: 1, copied: 1 });
    expect(result.decisions.corrections).toBe(source.corrections);
    expect(result.campaigns).toMatchObject({ inSource: 1, copied: 1, updated: 0, alreadyPresent: 0 });
    const sourceAudit = await source.store.campaigns.audit();
    expect(result.audit).toEqual({ inSource: sourceAudit.length, copied: sourceAudit.length, headHash: sourceAudit.at(-1)?.hash });
    expect(result.nothingToCopy).toBe(false);
    expect([...phases]).toEqual(['check', 'runs', 'campaigns', 'audit', 'verify']);

    // Not only what copy says: the target holds the same runs byte for byte (as portable tapes), the same
    // ledger with the corrections, the same campaign rows, and an audit chain that verifies on its own.
    const expected = await storeContents(source.store, copiedRunIds);
    expect(await storeContents(target, copiedRunIds)).toEqual({
      ...expected,
      ledger: expected.ledger.filter((row) => row.runId !== source.recordingRunId),
    });
    expect(await target.getRun(source.recordingRunId)).toBeUndefined();
    expect((await target.listDecisions({ includeSuperseded: true })).filter((row) => row.supersedes !== null)).toHaveLength(source.corrections);
    expect(verifyAuditChain(await target.campaigns.audit())).toEqual([]);
    const failed = [];
    for await (const run of verifyStore(target)) if (!run.ok) failed.push(run);
    expect(failed).toEqual([]);
    expect(await verifyLedger(target)).toMatchObject({ ok: true, problems: [] });
  });

  it('writes nothing the second time, and says so', { timeout: 120_000 }, async () => {
    // Packing the runs the first copy wrote goes on in the background: let it end, so only a write would move the stats.
    await target.idle();
    const before = await target.stats();
    const result = await copyStore(source.store, target);
    expect(result).toMatchObject({
      nothingToCopy: true,
      runs: { copied: 0, alreadyPresent: copiedRunIds.length },
      analyses: { copied: 0 },
      campaigns: { copied: 0, updated: 0, alreadyPresent: 1 },
      audit: { copied: 0 },
      verification: { ok: true },
    });
    expect({ ...(await target.stats()), fileBytes: null }).toEqual({ ...before, fileBytes: null });
  });

  it('brings what the source did since (a verdict and its audit entry), and the run that has ended meanwhile', { timeout: 120_000 }, async () => {
    const verdict = { campaignId: source.campaignId, itemId: 'x', verdict: 'unsure', reviewer: 'carol', note: 'later', at: 5 } as const;
    await source.store.campaigns.addVerdict(verdict, { at: 5, actor: 'carol', action: 'review.verdict', campaignId: source.campaignId, details: null });
    await source.finishRecording();
    const result = await copyStore(source.store, target);
    expect(result).toMatchObject({
      nothingToCopy: false,
      runs: { copied: 1, alreadyPresent: copiedRunIds.length, stillRecording: [] },
      campaigns: { updated: 1 },
      audit: { copied: 1 },
      verification: { ok: true, runs: copiedRunIds.length + 1 },
    });
    expect(await exportRun(target, source.recordingRunId)).toBe(await exportRun(source.store, source.recordingRunId));
    expect((await target.campaigns.verdicts(source.campaignId)).at(-1)).toEqual(verdict);
    expect(await target.campaigns.audit()).toEqual(await source.store.campaigns.audit());
  });
});

describe('copyStore refuses a target that holds another history under the same ids', () => {
  const run = (decision: string) => buildRun({ runId: 'run-a', decisions: [{ type: 'refund', subject: 'cust-1', value: decision }] });
  const draft = (action: string) => ({ at: 1, actor: 'alice', action, campaignId: 'c1', details: { action } });

  async function sourceStore(): Promise<Store> {
    const store = createMemoryStore();
    await writeRun(store, run('approve'));
    await store.campaigns.create({ campaignId: 'c1', createdAt: 1, plan: { candidate: 'b' } }, [], draft('campaign.created'));
    return store;
  }

  it('another audit log: refused with one line, and nothing written', async () => {
    const target = createMemoryStore();
    await target.campaigns.appendAudit(draft('something.else'));
    await expect(copyStore(await sourceStore(), target)).rejects.toThrow(
      new CopyRefusedError(
        "The target's audit log differs from the source's at entry 1 (something.else at 1970-01-01T00:00:00.001Z): it holds another history (copy into a store without one). Nothing was copied.",
      ),
    );
    expect(await target.listRunIds()).toEqual([]);
    expect(await target.campaigns.list()).toEqual([]);
  });

  it('another campaign under the same id: refused, and nothing written', async () => {
    const target = createMemoryStore();
    await target.campaigns.create({ campaignId: 'c1', createdAt: 1, plan: { candidate: 'other' } }, []);
    await expect(copyStore(await sourceStore(), target)).rejects.toThrow(/^The target holds another campaign c1: its plan or creation time differs\./);
    expect(await target.listRunIds()).toEqual([]);
  });

  it('another run under the same id: refused, and nothing written', async () => {
    const target = createMemoryStore();
    await writeRun(target, run('deny'));
    await expect(copyStore(await sourceStore(), target)).rejects.toBeInstanceOf(CopyRefusedError);
    expect(await target.campaigns.list()).toEqual([]);
    expect((await target.listDecisions()).map((row) => row.value)).toEqual(['deny']);
  });

  it('a source whose audit log is broken: refused, naming the entry', async () => {
    const source = await sourceStore();
    const [entry] = await source.campaigns.audit();
    const changed = async () => [{ ...(entry as object), actor: 'mallory' }];
    const campaigns = new Proxy(source.campaigns, { get: (target, key) => (key === 'audit' ? changed : Reflect.get(target, key)) });
    const broken = new Proxy(source, { get: (target, key) => (key === 'campaigns' ? campaigns : Reflect.get(target, key)) });
    await expect(copyStore(broken, createMemoryStore())).rejects.toThrow(/^The source's audit log is broken at entry 1 \(its content does not match its hash/);
  });
});
