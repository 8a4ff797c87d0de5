import type { DecisionFilter, DecisionRecord, RunFilter } from '../store.ts';
import type { MemoryRun } from './memory-run.ts';

/**
 * The same filter semantics as the SQL backends, over plain objects. The conformance suite holds
 * both to one behaviour, so a change here without the SQL twin fails a test.
 */
export function matchesRunFilter(run: MemoryRun, runDecisions: readonly DecisionRecord[], filter: RunFilter): boolean {
  if (filter.agent !== undefined && run.record.header.agent !== filter.agent) return false;
  if (filter.status !== undefined && run.record.status !== filter.status) return false;
  if (filter.since !== undefined && run.recordedAtMs < filter.since) return false;
  if (filter.until !== undefined && run.recordedAtMs >= filter.until) return false;
  if (filter.decisionType !== undefined || filter.decisionValue !== undefined) {
    const found = runDecisions.some(
      (decision) =>
        (filter.decisionType === undefined || decision.type === filter.decisionType) &&
        (filter.decisionValue === undefined || decision.value === filter.decisionValue),
    );
    if (!found) return false;
  }
  if (filter.subject !== undefined) {
    const bySubject = runDecisions.some((decision) => decision.subject === filter.subject);
    const byExternalId = Object.values(run.record.header.externalIds).includes(filter.subject);
    if (!bySubject && !byExternalId) return false;
  }
  if (filter.modelServed !== undefined && !run.modelsServed.includes(filter.modelServed)) return false;
  const forked = run.record.header.fork !== undefined;
  if ((filter.forks === 'exclude' && forked) || (filter.forks === 'only' && !forked)) return false;
  return true;
}

export function matchesDecisionFilter(decision: DecisionRecord, superseded: ReadonlySet<string>, filter: DecisionFilter): boolean {
  if (filter.type !== undefined && decision.type !== filter.type) return false;
  if (filter.value !== undefined && decision.value !== filter.value) return false;
  if (filter.subject !== undefined && decision.subject !== filter.subject) return false;
  if (filter.modelServed !== undefined && decision.modelServed !== filter.modelServed) return false;
  if (filter.runId !== undefined && decision.runId !== filter.runId) return false;
  if (filter.since !== undefined && decision.effectiveAt < filter.since) return false;
  if (filter.until !== undefined && decision.effectiveAt >= filter.until) return false;
  if (!filter.includeSuperseded && superseded.has(decision.decisionId)) return false;
  return true;
}

/** Ledger order, as the SQL backends sort it: valid time, then run and position. */
export function compareDecisions(left: DecisionRecord, right: DecisionRecord): number {
  return left.effectiveAt - right.effectiveAt || compareText(left.runId, right.runId) || left.seq - right.seq || compareText(left.decisionId, right.decisionId);
}

export function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Applies `offset` then `limit`, as SQL's LIMIT ... OFFSET does. */
export function page<Item>(items: Item[], filter: { limit?: number; offset?: number }): Item[] {
  const start = filter.offset ?? 0;
  return items.slice(start, filter.limit === undefined ? undefined : start + filter.limit);
}
