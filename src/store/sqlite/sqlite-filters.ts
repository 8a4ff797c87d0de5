import type { DecisionFilter, RunFilter } from '../store.ts';

/** A WHERE clause (empty when nothing filters) with its positional parameters. */
export interface SqlCondition {
  where: string;
  parameters: unknown[];
}

function joinConditions(clauses: string[], parameters: unknown[]): SqlCondition {
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', parameters };
}

/**
 * Runs matching a filter, on table alias `r`. Decision and subject filters are EXISTS probes so
 * a run with many matching decisions still appears once; each probe has an index behind it.
 */
export function runFilterCondition(filter: RunFilter): SqlCondition {
  const clauses: string[] = [];
  const parameters: unknown[] = [];
  if (filter.agent !== undefined) {
    clauses.push('r.agent = ?');
    parameters.push(filter.agent);
  }
  if (filter.status !== undefined) {
    clauses.push('r.status = ?');
    parameters.push(filter.status);
  }
  if (filter.since !== undefined) {
    clauses.push('r.recorded_at >= ?');
    parameters.push(filter.since);
  }
  if (filter.until !== undefined) {
    clauses.push('r.recorded_at < ?');
    parameters.push(filter.until);
  }
  if (filter.decisionType !== undefined || filter.decisionValue !== undefined) {
    const decisionClauses = ['d.run_id = r.run_id'];
    if (filter.decisionType !== undefined) {
      decisionClauses.push('d.type = ?');
      parameters.push(filter.decisionType);
    }
    if (filter.decisionValue !== undefined) {
      decisionClauses.push('d.value = ?');
      parameters.push(filter.decisionValue);
    }
    clauses.push(`EXISTS (SELECT 1 FROM decisions d WHERE ${decisionClauses.join(' AND ')})`);
  }
  if (filter.subject !== undefined) {
    clauses.push(
      '(EXISTS (SELECT 1 FROM decisions d WHERE d.run_id = r.run_id AND d.subject = ?) OR EXISTS (SELECT 1 FROM run_external_ids x WHERE x.run_id = r.run_id AND x.value = ?))',
    );
    parameters.push(filter.subject, filter.subject);
  }
  if (filter.modelServed !== undefined) {
    clauses.push('EXISTS (SELECT 1 FROM json_each(r.models_served) m WHERE m.value = ?)');
    parameters.push(filter.modelServed);
  }
  if (filter.forks === 'exclude') clauses.push('r.parent_run_id IS NULL');
  if (filter.forks === 'only') clauses.push('r.parent_run_id IS NOT NULL');
  return joinConditions(clauses, parameters);
}

/** Decisions matching a filter, on table alias `d`. Superseded ones are left out unless asked for. */
export function decisionFilterCondition(filter: DecisionFilter): SqlCondition {
  const clauses: string[] = [];
  const parameters: unknown[] = [];
  const equalities: Array<[string, string | undefined]> = [
    ['d.type', filter.type],
    ['d.value', filter.value],
    ['d.subject', filter.subject],
    ['d.model_served', filter.modelServed],
    ['d.run_id', filter.runId],
  ];
  for (const [column, value] of equalities) {
    if (value === undefined) continue;
    clauses.push(`${column} = ?`);
    parameters.push(value);
  }
  if (filter.since !== undefined) {
    clauses.push('d.effective_at >= ?');
    parameters.push(filter.since);
  }
  if (filter.until !== undefined) {
    clauses.push('d.effective_at < ?');
    parameters.push(filter.until);
  }
  if (!filter.includeSuperseded) clauses.push('NOT EXISTS (SELECT 1 FROM decisions s WHERE s.supersedes = d.decision_id)');
  return joinConditions(clauses, parameters);
}

/** LIMIT/OFFSET for SQLite, which needs a LIMIT before any OFFSET (-1 means no limit). */
export function pageClause(filter: { limit?: number; offset?: number }): SqlCondition {
  if (filter.limit === undefined && filter.offset === undefined) return { where: '', parameters: [] };
  return { where: 'LIMIT ? OFFSET ?', parameters: [filter.limit ?? -1, filter.offset ?? 0] };
}
