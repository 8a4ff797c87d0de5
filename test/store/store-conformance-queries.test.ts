import { beforeEach, describe, expect, it } from 'vitest';
import { RunNotFoundError, type Store } from '../../src/store/index.ts';
import { describeEachBackend, writeRun } from './store-backends.ts';
import { buildRun, DEFAULT_RECORDED_AT, singleBatchOf } from './tape-builder.ts';

const DAY = 24 * 60 * 60 * 1000;

/** The query half of the conformance suite: run listing, the decision ledger, id lookup. */
describeEachBackend('Store conformance, queries', ({ open }) => {
  describe('listRuns and countRuns', () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      const runs = [
        buildRun({
          runId: 'run-1',
          agent: 'support-agent',
          recordedAt: DEFAULT_RECORDED_AT,
          externalIds: { ticket: 'T-1' },
          decisions: [{ type: 'refund', subject: 'cust-1', value: 'approve' }],
        }),
        buildRun({
          runId: 'run-2',
          agent: 'support-agent',
          recordedAt: DEFAULT_RECORDED_AT + DAY,
          modelServed: 'gpt-new',
          decisions: [{ type: 'refund', subject: 'cust-2', value: 'deny' }],
          ending: 'failed',
        }),
        buildRun({
          runId: 'run-3',
          agent: 'billing-agent',
          recordedAt: DEFAULT_RECORDED_AT + 2 * DAY,
          externalIds: { customer: 'cust-2' },
          ending: null,
          forkOf: 'run-1',
        }),
        buildRun({
          runId: 'run-4',
          agent: 'billing-agent',
          recordedAt: DEFAULT_RECORDED_AT + 3 * DAY,
          decisions: [
            { type: 'account.action', subject: 'cust-3', value: 'close' },
            { type: 'account.action', subject: 'cust-4', value: 'close' },
          ],
        }),
      ];
      for (const run of runs) await writeRun(store, run);
    });
    const cases: Array<[string, Parameters<Store['listRuns']>[0], string[]]> = [
      ['no filter, newest first', {}, ['run-4', 'run-3', 'run-2', 'run-1']],
      ['oldest first', { order: 'asc' }, ['run-1', 'run-2', 'run-3', 'run-4']],
      ['agent', { agent: 'billing-agent' }, ['run-4', 'run-3']],
      ['status', { status: 'failed' }, ['run-2']],
      ['status recording', { status: 'recording' }, ['run-3']],
      ['since inclusive', { since: DEFAULT_RECORDED_AT + DAY }, ['run-4', 'run-3', 'run-2']],
      ['until exclusive', { until: DEFAULT_RECORDED_AT + DAY }, ['run-1']],
      ['window', { since: DEFAULT_RECORDED_AT + DAY, until: DEFAULT_RECORDED_AT + 3 * DAY }, ['run-3', 'run-2']],
      ['decision type', { decisionType: 'refund' }, ['run-2', 'run-1']],
      ['decision value', { decisionValue: 'close' }, ['run-4']],
      ['decision type and value', { decisionType: 'refund', decisionValue: 'deny' }, ['run-2']],
      ['subject as decision subject or external id', { subject: 'cust-2' }, ['run-3', 'run-2']],
      ['subject as external id only', { subject: 'T-1' }, ['run-1']],
      ['model served', { modelServed: 'gpt-new' }, ['run-2']],
      ['forks excluded', { forks: 'exclude' }, ['run-4', 'run-2', 'run-1']],
      ['forks only', { forks: 'only' }, ['run-3']],
      ['forks included', { forks: 'include' }, ['run-4', 'run-3', 'run-2', 'run-1']],
      ['limit and offset', { limit: 2, offset: 1 }, ['run-3', 'run-2']],
      ['offset alone', { offset: 3 }, ['run-1']],
      ['nothing matches', { agent: 'nobody' }, []],
      // Combinations: one filter drives the query (an index in SQLite), the others check each run.
      ['a run with two matching decisions, once', { decisionType: 'account.action' }, ['run-4']],
      ['decision type in a window', { decisionType: 'refund', since: DEFAULT_RECORDED_AT + DAY }, ['run-2']],
      ['decision type before a time', { decisionType: 'refund', until: DEFAULT_RECORDED_AT + DAY }, ['run-1']],
      ['decision type and subject', { decisionType: 'refund', subject: 'cust-2' }, ['run-2']],
      ['decision type and model served', { decisionType: 'refund', modelServed: 'gpt-new' }, ['run-2']],
      ['decision type, oldest first, paged', { decisionType: 'refund', order: 'asc', limit: 1, offset: 1 }, ['run-2']],
      ['model served in a window', { modelServed: 'gpt-new', until: DEFAULT_RECORDED_AT + DAY }, []],
      ['model served and status', { modelServed: 'gpt-test-2025-01-01', status: 'complete' }, ['run-4', 'run-1']],
      ['subject and agent', { subject: 'cust-2', agent: 'billing-agent' }, ['run-3']],
      ['subject and forks excluded', { subject: 'cust-2', forks: 'exclude' }, ['run-2']],
      ['subject in a window', { subject: 'cust-2', since: DEFAULT_RECORDED_AT + 2 * DAY }, ['run-3']],
    ];
    for (const [name, filter, ids] of cases) {
      it(`filters by ${name}`, async () => {
        expect((await store.listRuns(filter)).map((summary) => summary.runId)).toEqual(ids);
        if (filter?.limit === undefined && filter?.offset === undefined) expect(await store.countRuns(filter)).toBe(ids.length);
      });
    }

    it('counts ignoring paging, and summarises each run', async () => {
      expect(await store.countRuns()).toBe(4);
      expect(await store.countRuns({ limit: 1, offset: 1 })).toBe(4);
      // A bounded count stops at its bound.
      expect(await store.countRuns({}, { upTo: 2 })).toBe(2);
      expect(await store.countRuns({ decisionType: 'refund' }, { upTo: 10 })).toBe(2);
      const [summary] = await store.listRuns({ subject: 'T-1' });
      expect(summary).toEqual({
        runId: 'run-1',
        agent: 'support-agent',
        status: 'complete',
        recordedAt: DEFAULT_RECORDED_AT,
        eventCount: 7,
        externalIds: { ticket: 'T-1' },
        modelsServed: ['gpt-test-2025-01-01'],
        decisions: [{ type: 'refund', value: 'approve' }],
        parentRunId: null,
      });
      const [fork] = await store.listRuns({ status: 'recording' });
      expect(fork?.parentRunId).toBe('run-1');
      expect(fork?.modelsServed).toEqual([]);
      expect(await store.listRunIds()).toEqual(['run-1', 'run-2', 'run-3', 'run-4']);
    });
  });

  describe('listDecisions', () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await writeRun(
        store,
        buildRun({
          runId: 'run-1',
          modelServed: 'gpt-old',
          decisions: [
            { type: 'refund', subject: 'cust-1', value: 'approve', amount: 10, effectiveAt: DEFAULT_RECORDED_AT },
            { type: 'refund', subject: 'cust-2', value: 'deny', amount: 20, effectiveAt: DEFAULT_RECORDED_AT + DAY },
            { type: 'account.action', subject: 'cust-1', value: 'close', effectiveAt: DEFAULT_RECORDED_AT + 2 * DAY },
          ],
        }),
      );
      // A later correction of run-1's first decision (seq 5) by another run.
      await writeRun(
        store,
        buildRun({
          runId: 'run-2',
          modelServed: 'gpt-new',
          decisions: [{ type: 'refund', subject: 'cust-1', value: 'deny', effectiveAt: DEFAULT_RECORDED_AT + 3 * DAY, supersedes: 'run-1:5' }],
        }),
      );
    });
    const cases: Array<[string, Parameters<Store['listDecisions']>[0], string[]]> = [
      ['nothing: superseded left out, valid-time order', {}, ['run-1:6', 'run-1:7', 'run-2:5']],
      ['includeSuperseded', { includeSuperseded: true }, ['run-1:5', 'run-1:6', 'run-1:7', 'run-2:5']],
      ['type', { type: 'refund' }, ['run-1:6', 'run-2:5']],
      ['value', { value: 'deny', includeSuperseded: true }, ['run-1:6', 'run-2:5']],
      ['subject', { subject: 'cust-1' }, ['run-1:7', 'run-2:5']],
      ['model served', { modelServed: 'gpt-old', includeSuperseded: true }, ['run-1:5', 'run-1:6', 'run-1:7']],
      ['run id', { runId: 'run-2' }, ['run-2:5']],
      ['since inclusive', { since: DEFAULT_RECORDED_AT + DAY }, ['run-1:6', 'run-1:7', 'run-2:5']],
      ['until exclusive', { until: DEFAULT_RECORDED_AT + DAY, includeSuperseded: true }, ['run-1:5']],
      ['limit and offset', { includeSuperseded: true, limit: 2, offset: 1 }, ['run-1:6', 'run-1:7']],
    ];
    for (const [name, filter, ids] of cases) {
      it(`filters by ${name}`, async () => {
        expect((await store.listDecisions(filter)).map((decision) => decision.decisionId)).toEqual(ids);
      });
    }

    it('returns every field of a decision', async () => {
      const [correction] = await store.listDecisions({ runId: 'run-2' });
      expect(correction).toEqual({
        decisionId: 'run-2:5',
        runId: 'run-2',
        seq: 5,
        agent: 'support-agent',
        type: 'refund',
        subject: 'cust-1',
        value: 'deny',
        amount: null,
        currency: null,
        reversible: true,
        effectiveAt: DEFAULT_RECORDED_AT + 3 * DAY,
        recordedAt: DEFAULT_RECORDED_AT + 5,
        modelServed: 'gpt-new',
        attributes: { plan: 'pro' },
        supersedes: 'run-1:5',
      });
      const [first] = await store.listDecisions({ includeSuperseded: true });
      expect(first?.amount).toBe(10);
      expect(first?.currency).toBe('USD');
    });
  });

  it('finds run ids by prefix and suggests close ids when a run is missing', async () => {
    const store = await open();
    for (const runId of ['01JABC-one', '01JABC-two', '01JXYZ-three']) await store.write(singleBatchOf(buildRun({ runId })));
    expect(await store.findRunIds('01JABC')).toEqual(['01JABC-one', '01JABC-two']);
    expect(await store.findRunIds('01J', 2)).toEqual(['01JABC-one', '01JABC-two']);
    expect(await store.findRunIds('')).toHaveLength(3);
    expect(await store.findRunIds('nope')).toEqual([]);
    expect((await store.getRunOrThrow('01JXYZ-three')).header.runId).toBe('01JXYZ-three');

    const error = await store.getRunOrThrow('01JABC-tw0').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RunNotFoundError);
    expect((error as RunNotFoundError).code).toBe('RUN_NOT_FOUND');
    expect((error as RunNotFoundError).suggestions).toEqual(['01JABC-two']);
    expect((error as RunNotFoundError).message).toContain('01JABC-two');
    const far = (await store.getRunOrThrow('zzzz').catch((caught: unknown) => caught)) as RunNotFoundError;
    expect(far.suggestions).toEqual([]);
    await expect(store.getRunBundle('01JABC')).rejects.toBeInstanceOf(RunNotFoundError);
  });
});

describeEachBackend('Store conformance: run analyses', ({ open }) => {
  it("saves, replaces by id and lists a run's analyses oldest first, by kind", async () => {
    const store = await open();
    await store.saveRunAnalysis({ analysisId: 'a2', runId: 'run-a', kind: 'resample', createdAt: 2, result: { n: 200 } });
    await store.saveRunAnalysis({ analysisId: 'a1', runId: 'run-a', kind: 'resample', createdAt: 1, result: { n: 100 } });
    await store.saveRunAnalysis({ analysisId: 'a3', runId: 'run-a', kind: 'explain', createdAt: 3, result: {} });
    await store.saveRunAnalysis({ analysisId: 'b1', runId: 'run-b', kind: 'resample', createdAt: 1, result: {} });
    await store.saveRunAnalysis({ analysisId: 'a1', runId: 'run-a', kind: 'resample', createdAt: 1, result: { n: 150 } });
    expect((await store.listRunAnalyses('run-a')).map((analysis) => analysis.analysisId)).toEqual(['a1', 'a2', 'a3']);
    expect(await store.listRunAnalyses('run-a', 'resample')).toEqual([
      { analysisId: 'a1', runId: 'run-a', kind: 'resample', createdAt: 1, result: { n: 150 } },
      { analysisId: 'a2', runId: 'run-a', kind: 'resample', createdAt: 2, result: { n: 200 } },
    ]);
    expect(await store.listRunAnalyses('run-none')).toEqual([]);
  });
});
