import { describe, expect, it } from 'vitest';
import type { DecisionFilter, RunFilter } from '../store.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import { decisionFilterCondition, pageClause } from './sqlite-filters.ts';
import { runCountQuery, runPageQuery, type SqlQuery } from './sqlite-reads.ts';

/**
 * The query plans of the runs list, its count and the decisions list on a migrated schema: each
 * filter is driven by an index, never a SCAN of the runs table (a scan read every run of a
 * 100,000-run store: 269 ms for a subject, 74 ms for a count). Plans, not timings: the planner's
 * choice is what stays true as the store grows.
 */
const database = openSqliteDatabase(':memory:', { readonly: false });

function planOf({ sql, parameters }: SqlQuery): string {
  const rows = database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as Array<{ detail: string }>;
  return rows.map((row) => row.detail).join('\n');
}

/** `retrial runs` asks for a page of 50 with forks left out. */
const page = (filter: RunFilter): RunFilter => ({ forks: 'exclude', limit: 50, offset: 0, order: 'desc', ...filter });
const WEEK = { since: 1_796_000_000_000, until: 1_796_604_800_000 };

const cases: Array<[name: string, filter: RunFilter, index: RegExp]> = [
  ['subject', { subject: 'C-7314' }, /decisions_by_subject[\s\S]*run_external_ids_by_value|run_external_ids_by_value[\s\S]*decisions_by_subject/],
  ['decision type', { decisionType: 'refund.category' }, /SEARCH d USING (COVERING )?INDEX decisions_by_type_run_time \(type=\?\)/],
  [
    'decision type and value',
    { decisionType: 'account.action', decisionValue: 'close' },
    /SEARCH d USING (COVERING )?INDEX decisions_by_type_value_run_time \(type=\? AND value=\?\)/,
  ],
  [
    'decision type in a window',
    { decisionType: 'refund.category', ...WEEK },
    /SEARCH d USING (COVERING )?INDEX decisions_by_type_run_time \(type=\? AND run_recorded_at>\? AND run_recorded_at<\?\)/,
  ],
  ['decision and subject', { decisionType: 'refund.category', subject: 'C-7314' }, /SEARCH d USING (COVERING )?INDEX decisions_by_type_run_time/],
  ['model served', { modelServed: 'support-sim-2026-01-15' }, /SEARCH m USING PRIMARY KEY \(model=\?\)/],
  [
    'model served in a window',
    { modelServed: 'support-sim-2026-01-15', ...WEEK },
    /SEARCH m USING PRIMARY KEY \(model=\? AND recorded_at>\? AND recorded_at<\?\)/,
  ],
  ['agent', { agent: 'support-agent' }, /SEARCH r USING INDEX runs_by_agent \(agent=\?\)/],
  ['status', { status: 'failed' }, /SEARCH r USING INDEX runs_by_status_time \(status=\?\)/],
  ['a window', WEEK, /SEARCH r USING INDEX runs_by_recorded_at \(recorded_at>\? AND recorded_at<\?\)/],
];

describe('the runs list is driven by an index for every filter', () => {
  it.each(cases)('%s: the page and its count search an index and never scan runs', (_name, filter, index) => {
    const pagePlan = planOf(runPageQuery(page(filter)));
    expect(pagePlan).toMatch(index);
    expect(pagePlan).not.toMatch(/SCAN r\b/);
    const countPlan = planOf(runCountQuery({ ...filter, forks: 'exclude' }, 10_001));
    expect(countPlan).toMatch(index);
    expect(countPlan).not.toMatch(/SCAN r\b/);
  });

  it('a page walks its driving index in order: no sort of every match before the LIMIT', () => {
    for (const [name, filter] of cases) {
      if (name.includes('subject')) continue; // a subject's handful of runs is sorted, and that is cheap
      expect(planOf(runPageQuery(page(filter))), name).not.toMatch(/USE TEMP B-TREE FOR (RIGHT PART OF )?ORDER BY/);
    }
  });

  it('the unfiltered page walks runs by recorded_at; a bounded count stops at its bound', () => {
    expect(planOf(runPageQuery(page({})))).toMatch(/SCAN r USING INDEX runs_by_recorded_at/);
    expect(runCountQuery({}, 10_001).sql).toMatch(/LIMIT \?\)$/);
  });
});

describe('decisions --type --since is driven by the type index', () => {
  it('searches decisions_by_type on (type, effective_at)', () => {
    const filter: DecisionFilter = { type: 'refund.category', since: WEEK.since, limit: 50 };
    const condition = decisionFilterCondition(filter);
    const limit = pageClause(filter);
    const plan = planOf({
      sql: `SELECT * FROM decisions d ${condition.where} ORDER BY d.effective_at, d.run_id, d.seq, d.decision_id ${limit.where}`,
      parameters: [...condition.parameters, ...limit.parameters],
    });
    expect(plan).toMatch(/SEARCH d USING INDEX decisions_by_type \(type=\? AND effective_at>\?\)/);
    expect(plan).not.toMatch(/SCAN d\b/);
  });
});
