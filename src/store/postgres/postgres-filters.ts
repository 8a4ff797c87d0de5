import type { DecisionFilter, RunFilter } from '../store.ts';

/** A WHERE clause (empty when nothing filters) with its parameters, numbered from 1. */
export interface SqlCondition {
  where: string;
  parameters: unknown[];
}

/** Collects clauses, numbering each parameter as it is added. */
class ConditionBuilder {
  readonly clauses: string[] = [];
  readonly parameters: unknown[] = [];
  constructor(private readonly offset = 0) {}
  /** The placeholder of a new parameter. */
  bind(value: unknown): string {
    this.parameters.push(value);
    return `$${this.offset + this.parameters.length}`;
  }
  build(): SqlCondition {
    return { where: this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '', parameters: this.parameters };
  }
}

/**
 * The rows a runs query walks, on run alias `r`, as in sqlite-filters.ts: the runs table itself,
 * or the index of what the filter is most likely narrowed by, joined to its run. `time` and `id`
 * name the driver's columns that equal the run's recorded_at and run_id, so ORDER BY them walks the
 * driver's index in order and a page stops after its last row instead of sorting every match.
 */
export interface RunQuery extends SqlCondition {
  /** FROM clause; its parameters are numbered with the WHERE clause's, in `parameters`. */
  from: string;
  time: string;
  id: string;
  /** The driver can meet one run twice (two decisions of the type): DISTINCT ON (time, id). */
  distinct: boolean;
}

/**
 * The run of a driver's row, read by its key for each row the driver walks. OFFSET 0 keeps the
 * planner from flattening it into a join it may hash: a hash join reads every run (a Seq Scan)
 * to count a few hundred matches of a decision in a week.
 */
const RUN_OF = (driver: string) => `(SELECT * FROM runs WHERE runs.run_id = ${driver}.run_id OFFSET 0) r`;

/**
 * Runs matching a filter. A decision filter is driven by decisions_by_type(_value)_run_time, each
 * run once (DISTINCT ON the walk's order: two decisions of the type name one run), and a model by
 * run_models_served (both keep the run's start time, migration 2); a subject is the runs of a short
 * list read from the decision-subject and external-id indexes; the rest walk runs by recorded_at,
 * or by (agent | status, recorded_at, run_id). test/store/postgres-query-plans.test.ts checks the plans by EXPLAIN.
 */
export function runQuery(filter: RunFilter): RunQuery {
  const builder = new ConditionBuilder();
  const { clauses } = builder;
  let from = 'runs r';
  let time = 'r.recorded_at';
  let id = 'r.run_id';
  let distinct = false;
  const window = (column: string, into: string[]) => {
    if (filter.since !== undefined) into.push(`${column} >= ${builder.bind(filter.since)}`);
    if (filter.until !== undefined) into.push(`${column} < ${builder.bind(filter.until)}`);
  };
  if (filter.subject !== undefined) {
    // A subject names a handful of runs: read them from the two indexes, then sort that handful.
    const subject = builder.bind(filter.subject);
    from = `(SELECT ds.run_id FROM decisions ds WHERE ds.subject = ${subject} UNION SELECT x.run_id FROM run_external_ids x WHERE x.value = ${subject}) s JOIN runs r ON r.run_id = s.run_id`;
  } else if (filter.decisionType !== undefined) {
    const inner = [`d.type = ${builder.bind(filter.decisionType)}`];
    if (filter.decisionValue !== undefined) inner.push(`d.value = ${builder.bind(filter.decisionValue)}`);
    window('d.run_recorded_at', inner);
    // Joined at this level, not in a DISTINCT subquery, so the planner sees the LIMIT and walks the
    // index backwards instead of collecting every match.
    from = `decisions d CROSS JOIN LATERAL ${RUN_OF('d')}`;
    clauses.push(...inner);
    [time, id, distinct] = ['d.run_recorded_at', 'd.run_id', true];
  } else if (filter.modelServed !== undefined) {
    const inner = [`m.model = ${builder.bind(filter.modelServed)}`];
    window('m.recorded_at', inner);
    from = `run_models_served m CROSS JOIN LATERAL ${RUN_OF('m')}`;
    clauses.push(...inner);
    [time, id] = ['m.recorded_at', 'm.run_id'];
  }
  if (filter.subject !== undefined || (filter.decisionType === undefined && filter.modelServed === undefined)) window('r.recorded_at', clauses);
  if (filter.decisionType !== undefined && filter.subject !== undefined) {
    const decisionClauses = ['dt.run_id = r.run_id', `dt.type = ${builder.bind(filter.decisionType)}`];
    if (filter.decisionValue !== undefined) decisionClauses.push(`dt.value = ${builder.bind(filter.decisionValue)}`);
    clauses.push(`EXISTS (SELECT 1 FROM decisions dt WHERE ${decisionClauses.join(' AND ')})`);
  }
  // A value without a type matches any decision of that value: rare enough to probe per run.
  if (filter.decisionType === undefined && filter.decisionValue !== undefined)
    clauses.push(`EXISTS (SELECT 1 FROM decisions dv WHERE dv.run_id = r.run_id AND dv.value = ${builder.bind(filter.decisionValue)})`);
  if (filter.modelServed !== undefined && (filter.subject !== undefined || filter.decisionType !== undefined))
    clauses.push(`r.models_served @> ARRAY[${builder.bind(filter.modelServed)}::text]`);
  if (filter.agent !== undefined) clauses.push(`r.agent = ${builder.bind(filter.agent)}`);
  if (filter.status !== undefined) clauses.push(`r.status = ${builder.bind(filter.status)}`);
  if (filter.forks === 'exclude') clauses.push('r.parent_run_id IS NULL');
  if (filter.forks === 'only') clauses.push('r.parent_run_id IS NOT NULL');
  return { ...builder.build(), from, time, id, distinct };
}

/** Decisions matching a filter, on table alias `d`. Superseded ones are left out unless asked for. */
export function decisionFilterCondition(filter: DecisionFilter): SqlCondition {
  const builder = new ConditionBuilder();
  const { clauses } = builder;
  const equalities: Array<[string, string | undefined]> = [
    ['d.type', filter.type],
    ['d.value', filter.value],
    ['d.subject', filter.subject],
    ['d.model_served', filter.modelServed],
    ['d.run_id', filter.runId],
  ];
  for (const [column, value] of equalities) if (value !== undefined) clauses.push(`${column} = ${builder.bind(value)}`);
  if (filter.since !== undefined) clauses.push(`d.effective_at >= ${builder.bind(filter.since)}`);
  if (filter.until !== undefined) clauses.push(`d.effective_at < ${builder.bind(filter.until)}`);
  if (!filter.includeSuperseded) clauses.push('NOT EXISTS (SELECT 1 FROM decisions s WHERE s.supersedes = d.decision_id)');
  return builder.build();
}

/** LIMIT/OFFSET with parameters numbered after `used` others. */
export function pageClause(filter: { limit?: number; offset?: number }, used: number): SqlCondition {
  if (filter.limit === undefined && filter.offset === undefined) return { where: '', parameters: [] };
  return { where: `LIMIT $${used + 1} OFFSET $${used + 2}`, parameters: [filter.limit ?? null, filter.offset ?? 0] };
}
