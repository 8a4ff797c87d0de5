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
 * Runs matching a filter, on table alias `r`, as in sqlite-filters.ts: decision and subject
 * filters are EXISTS probes with an index behind each, so a run appears once.
 */
export function runFilterCondition(filter: RunFilter): SqlCondition {
  const builder = new ConditionBuilder();
  const { clauses } = builder;
  if (filter.agent !== undefined) clauses.push(`r.agent = ${builder.bind(filter.agent)}`);
  if (filter.status !== undefined) clauses.push(`r.status = ${builder.bind(filter.status)}`);
  if (filter.since !== undefined) clauses.push(`r.recorded_at >= ${builder.bind(filter.since)}`);
  if (filter.until !== undefined) clauses.push(`r.recorded_at < ${builder.bind(filter.until)}`);
  if (filter.decisionType !== undefined || filter.decisionValue !== undefined) {
    const decisionClauses = ['d.run_id = r.run_id'];
    if (filter.decisionType !== undefined) decisionClauses.push(`d.type = ${builder.bind(filter.decisionType)}`);
    if (filter.decisionValue !== undefined) decisionClauses.push(`d.value = ${builder.bind(filter.decisionValue)}`);
    clauses.push(`EXISTS (SELECT 1 FROM decisions d WHERE ${decisionClauses.join(' AND ')})`);
  }
  if (filter.subject !== undefined) {
    const subject = builder.bind(filter.subject);
    clauses.push(
      `(r.run_id IN (SELECT d.run_id FROM decisions d WHERE d.subject = ${subject}) OR r.run_id IN (SELECT x.run_id FROM run_external_ids x WHERE x.value = ${subject}))`,
    );
  }
  if (filter.modelServed !== undefined) clauses.push(`r.models_served @> ARRAY[${builder.bind(filter.modelServed)}::text]`);
  if (filter.forks === 'exclude') clauses.push('r.parent_run_id IS NULL');
  if (filter.forks === 'only') clauses.push('r.parent_run_id IS NOT NULL');
  return builder.build();
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
