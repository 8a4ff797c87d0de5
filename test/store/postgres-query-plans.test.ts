import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type RunFilter } from '../../src/store/index.ts';
import { decisionFilterCondition, pageClause } from '../../src/store/postgres/postgres-filters.ts';
import { runCountSql, runPageSql } from '../../src/store/postgres/postgres-reads.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';

/**
 * The plans PostgreSQL chooses for the runs list, its count and `decisions --type --since` on a
 * store of the demo's shape (100,000 runs, two decisions and one model each, inserted by SQL and
 * analyzed): each filter is driven by an index, never a Seq Scan of runs or decisions (a scan reads
 * every run as the store grows). Plans, not timings: the planner's choice is what stays true.
 */
const RUNS = 100_000;
const DAY = 86_400_000;
const END = 1_796_000_000_000;
const WEEK = { since: END - 7 * DAY, until: END };

let database: { url: string; drop(): Promise<void> };
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('retrial_t_plans');
  const store = await openPostgresStore(database.url);
  await store.close();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  // Run i starts within 90 days before END; one in 50 failed; one in 20 is a fork; customers repeat.
  await client.query(
    `INSERT INTO runs (run_id, agent, status, recorded_at, header_json, root_hash, head_hash, event_count, parent_run_id, models_served, packed)
     SELECT 'run-' || i, 'support-agent', CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'ok' END, $1::double precision - (i * 7919 % 90) * $2::double precision - i,
            '{"externalIds":{}}', 'r', 'h', 20, CASE WHEN i % 20 = 0 THEN 'run-' || (i - 1) END,
            CASE WHEN i % 3 = 0 THEN ARRAY['sim-b'] ELSE ARRAY['sim-a'] END, true
       FROM generate_series(1, ${RUNS}) AS i`,
    [END, DAY],
  );
  await client.query(`INSERT INTO run_external_ids (run_id, name, value) SELECT 'run-' || i, 'ticket', 'T-' || i FROM generate_series(1, ${RUNS}) AS i`);
  await client.query(
    `INSERT INTO decisions (decision_id, run_id, seq, agent, type, subject, value, reversible, effective_at, recorded_at, attributes_json)
     SELECT 'dec-' || i || '-' || k, 'run-' || i, k, 'support-agent', CASE k WHEN 1 THEN 'refund.category' ELSE 'account.action' END,
            'C-' || (i % 5000), CASE WHEN i % 4 = 0 THEN 'deny' WHEN k = 2 AND i % 97 = 0 THEN 'close' ELSE 'approve' END, true,
            $1::double precision - (i * 7919 % 90) * $2::double precision, $1::double precision - (i * 7919 % 90) * $2::double precision, '{}'
       FROM generate_series(1, ${RUNS}) AS i, generate_series(1, 2) AS k`,
    [END, DAY],
  );
  await client.query('ANALYZE');
}, 120_000);

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

async function planOf({ sql, parameters }: { sql: string; parameters: unknown[] }): Promise<string> {
  const result = await client.query(`EXPLAIN ${sql}`, parameters);
  return result.rows.map((row) => row['QUERY PLAN'] as string).join('\n');
}

/** `retrial runs` asks for a page of 50 with forks left out, and counts up to 1,001. */
const page = (filter: RunFilter): RunFilter => ({ forks: 'exclude', limit: 50, offset: 0, order: 'desc', ...filter });
const count = (filter: RunFilter) => runCountSql({ ...filter, forks: 'exclude' }, 1_001);

/** A subject's runs: read from both subject indexes, then each run by its key (not a walk of runs). */
const SUBJECT_RUNS = /^(?=[\s\S]*decisions_by_subject)(?=[\s\S]*run_external_ids_by_value_run)(?=[\s\S]*runs_pkey on runs r)/;

const cases: Array<[name: string, filter: RunFilter, index: RegExp]> = [
  ['no filter', {}, /Index Scan Backward using runs_by_recorded_at on runs r/],
  ['subject', { subject: 'C-4242' }, SUBJECT_RUNS],
  ['ticket', { subject: 'T-4242' }, SUBJECT_RUNS],
  ['decision type', { decisionType: 'refund.category' }, /decisions_by_type_run_time on decisions d/],
  ['decision type and value', { decisionType: 'account.action', decisionValue: 'close' }, /decisions_by_type_value_run_time( on decisions d)?/],
  ['decision type in a window', { decisionType: 'refund.category', ...WEEK }, /decisions_by_type_run_time on decisions d/],
  ['model served', { modelServed: 'sim-b' }, /run_models_served_pkey on run_models_served m/],
  ['a window', WEEK, /runs_by_recorded_at/],
  ['agent', { agent: 'support-agent' }, /runs_by_agent_time|runs_by_recorded_at/],
  ['status', { status: 'failed' }, /runs_by_status_time/],
];

describe('the runs list is driven by an index for every filter', () => {
  it.each(cases)('%s: the page and its count use an index and never scan runs or decisions', async (_name, filter, index) => {
    for (const plan of [await planOf(runPageSql(page(filter))), await planOf(count(filter))]) {
      expect(plan).toMatch(index);
      expect(plan).not.toMatch(/Seq Scan on (runs|decisions|run_models_served|run_external_ids)/);
    }
  });

  it('a page walks its driving index in order: no sort of every match before the LIMIT', async () => {
    for (const [name, filter] of cases) {
      if (name === 'subject' || name === 'ticket') continue; // a subject's handful of runs is sorted, and that is cheap
      expect(await planOf(runPageSql(page(filter))), name).not.toMatch(/^\s*(->\s*)?Sort\b/m);
    }
  });
});

describe('decisions --type --since is driven by the type index', () => {
  it('walks decisions_by_type on (type, effective_at)', async () => {
    const filter = { type: 'refund.category', since: WEEK.since, limit: 50 };
    const condition = decisionFilterCondition(filter);
    const limit = pageClause(filter, condition.parameters.length);
    const plan = await planOf({
      sql: `SELECT * FROM decisions d ${condition.where} ORDER BY d.effective_at, d.run_id, d.seq, d.decision_id ${limit.where}`,
      parameters: [...condition.parameters, ...limit.parameters],
    });
    expect(plan).toMatch(/decisions_by_type on decisions d/);
    expect(plan).not.toMatch(/Seq Scan on decisions/);
  });
});
