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
 * The rows a runs query walks, on run alias `r`: the runs table itself, or the index of what the
 * filter is most likely narrowed by, joined to its run. `time` and `id` name the driver's columns
 * that equal the run's recorded_at and run_id, so ORDER BY them walks the driver's index in order
 * and a page stops after its last row instead of sorting every match.
 */
export interface RunQuery extends SqlCondition {
  /** FROM clause; its own parameters are at the head of `parameters`, before the WHERE clause's. */
  from: string;
  time: string;
  id: string;
  /** The driver can meet one run twice (two decisions of the type): select DISTINCT. */
  distinct: boolean;
}

/**
 * Runs matching a filter. A decision filter is driven by decisions_by_type(_value)_run_time and a
 * model by run_models_served (both keep the run's start time, migration 7); a subject is the runs
 * of a short IN list read from the decision-subject and external-id indexes; the rest walk runs by
 * recorded_at (or by agent, status). Checked by EXPLAIN QUERY PLAN in sqlite-filters.test.ts.
 */
export function runQuery(filter: RunFilter): RunQuery {
  const clauses: string[] = [];
  const parameters: unknown[] = [];
  let from = 'runs r';
  let time = 'r.recorded_at';
  let id = 'r.run_id';
  let distinct = false;
  const window = (column: string) => {
    if (filter.since !== undefined) {
      clauses.push(`${column} >= ?`);
      parameters.push(filter.since);
    }
    if (filter.until !== undefined) {
      clauses.push(`${column} < ?`);
      parameters.push(filter.until);
    }
  };
  if (filter.decisionType !== undefined) {
    // CROSS JOIN keeps the driver the outer loop: SQLite never reorders it.
    from = 'decisions d CROSS JOIN runs r ON r.run_id = d.run_id';
    [time, id, distinct] = ['d.run_recorded_at', 'd.run_id', true];
    clauses.push('d.type = ?');
    parameters.push(filter.decisionType);
    if (filter.decisionValue !== undefined) {
      clauses.push('d.value = ?');
      parameters.push(filter.decisionValue);
    }
    window('d.run_recorded_at');
  } else if (filter.modelServed !== undefined) {
    from = 'run_models_served m CROSS JOIN runs r ON r.run_id = m.run_id';
    [time, id] = ['m.recorded_at', 'm.run_id'];
    clauses.push('m.model = ?');
    parameters.push(filter.modelServed);
    window('m.recorded_at');
  } else window('r.recorded_at');
  // A value without a type matches any decision of that value: rare enough to probe per run.
  if (filter.decisionType === undefined && filter.decisionValue !== undefined) {
    clauses.push('EXISTS (SELECT 1 FROM decisions dv WHERE dv.run_id = r.run_id AND dv.value = ?)');
    parameters.push(filter.decisionValue);
  }
  if (filter.modelServed !== undefined && from.startsWith('decisions')) {
    clauses.push('EXISTS (SELECT 1 FROM run_models_served mm WHERE mm.model = ? AND mm.recorded_at = r.recorded_at AND mm.run_id = r.run_id)');
    parameters.push(filter.modelServed);
  }
  if (filter.agent !== undefined) {
    clauses.push('r.agent = ?');
    parameters.push(filter.agent);
  }
  if (filter.status !== undefined) {
    clauses.push('r.status = ?');
    parameters.push(filter.status);
  }
  const fromParameters: unknown[] = [];
  if (filter.subject !== undefined) {
    const subjectRuns = 'SELECT ds.run_id FROM decisions ds WHERE ds.subject = ? UNION SELECT x.run_id FROM run_external_ids x WHERE x.value = ?';
    if (from === 'runs r') {
      // A subject names a handful of runs: read them from the two indexes, then sort that handful.
      from = `(${subjectRuns}) s CROSS JOIN runs r ON r.run_id = s.run_id`;
      fromParameters.push(filter.subject, filter.subject);
    } else {
      clauses.push(`r.run_id IN (${subjectRuns})`);
      parameters.push(filter.subject, filter.subject);
    }
  }
  if (filter.forks === 'exclude') clauses.push('r.parent_run_id IS NULL');
  if (filter.forks === 'only') clauses.push('r.parent_run_id IS NOT NULL');
  return { ...joinConditions(clauses, [...fromParameters, ...parameters]), from, time, id, distinct };
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
