import {
  canonicalJson,
  chainRoot,
  decisionEventSchema,
  type RunHeader,
  type RunRecord,
  sealRun,
  statusAgreesWithEnding,
  verifyHashChain,
} from '../tape/index.ts';
import type { DecisionRecord, StoredEvent } from './store.ts';

/**
 * The decision ledger is an index of the runs' decision events: a shipped decision's row must say
 * what its hashed decision event says, so the chain that covers the event covers the row. This file
 * derives the rows a run's chain vouches for and names the fields of a row that disagree.
 */

/** Every field of a ledger row, in the order problems name them. */
export const LEDGER_FIELDS = [
  'decisionId',
  'runId',
  'seq',
  'agent',
  'type',
  'subject',
  'value',
  'amount',
  'currency',
  'reversible',
  'effectiveAt',
  'recordedAt',
  'modelServed',
  'attributes',
  'supersedes',
] as const satisfies ReadonlyArray<keyof DecisionRecord>;

/** What a run's chain vouches for besides its events. */
export interface RunLedger {
  /** Ledger rows by decision id, as the recorder derives them; none for a fork (its decisions are counterfactual). */
  decisions: Map<string, DecisionRecord>;
  /** Models served on the run's model events, sorted, each once. */
  modelsServed: string[];
}

/**
 * Derives the ledger rows and served models from a run's events, the way the recorder writes them:
 * each decision's `modelServed` is the served model of the earlier model event it names. Only
 * events whose kind column says `model` or `decision` are read; a kind changed either way shows as
 * a row nothing vouches for, or a model missing from `modelsServed`, never as a silent pass.
 */
export function deriveRunLedger(header: RunHeader, events: ReadonlyArray<Pick<StoredEvent, 'seq' | 'kind' | 'json'>>): RunLedger {
  const decisions = new Map<string, DecisionRecord>();
  const servedBySeq = new Map<number, string | null>();
  const served = new Set<string>();
  const isFork = header.fork !== undefined;
  for (const event of events) {
    if (event.kind === 'model') {
      const model = parseJson(event.json) as { kind?: unknown; response?: { model?: { served?: unknown } } | null } | undefined;
      if (model?.kind !== 'model') continue;
      const name = model.response?.model?.served;
      servedBySeq.set(event.seq, typeof name === 'string' ? name : null);
      if (typeof name === 'string' && name !== '') served.add(name);
    } else if (event.kind === 'decision' && !isFork) {
      const parsed = decisionEventSchema.safeParse(parseJson(event.json));
      if (!parsed.success || parsed.data.seq !== event.seq) continue;
      const decision = parsed.data;
      const decisionId = `${header.runId}:${decision.seq}`;
      decisions.set(decisionId, {
        decisionId,
        runId: header.runId,
        seq: decision.seq,
        agent: header.agent,
        type: decision.type,
        subject: decision.subject,
        value: decision.value,
        amount: decision.amount,
        currency: decision.currency,
        reversible: decision.reversible,
        effectiveAt: Date.parse(decision.effectiveAt),
        recordedAt: decision.at,
        modelServed: decision.basedOnSeq === null ? null : (servedBySeq.get(decision.basedOnSeq) ?? null),
        attributes: decision.attributes,
        supersedes: null,
      });
    }
  }
  return { decisions, modelsServed: [...served].sort() };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface LedgerFieldDifference {
  field: string;
  /** What the vouching event (or audit entry) says, as canonical JSON; undefined for a field it does not have. */
  expected: string | undefined;
  /** What the row says, as canonical JSON; undefined for a field the row lacks. */
  actual: string | undefined;
}

/** The fields of `row` that differ from `expected`, including fields either side has that the other lacks. */
export function ledgerRowDifferences(expected: DecisionRecord, row: Readonly<Record<string, unknown>>): LedgerFieldDifference[] {
  const differences: LedgerFieldDifference[] = [];
  const fields = new Set<string>([...LEDGER_FIELDS, ...Object.keys(row)]);
  for (const field of fields) {
    const want = jsonOf((expected as unknown as Record<string, unknown>)[field]);
    const have = jsonOf(row[field]);
    if (want !== have) differences.push({ field, expected: want, actual: have });
  }
  return differences;
}

function jsonOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    return canonicalJson(value);
  } catch {
    return String(value);
  }
}

/** One line for a field that differs, naming both values (cut short when long). */
export function describeDifference(difference: LedgerFieldDifference, vouchedBy: string): string {
  const show = (text: string | undefined) => (text === undefined ? '(absent)' : text.length > 80 ? `${text.slice(0, 77)}...` : text);
  return `${difference.field} is ${show(difference.actual)} but ${vouchedBy} says ${show(difference.expected)}`;
}

/** Whether a run's stored models served agree with its model events: equal, or still empty on a run that never ended. */
export function modelsServedAgree(run: Pick<RunRecord, 'ending'>, stored: readonly string[], derived: readonly string[]): boolean {
  const sorted = [...new Set(stored)].sort();
  if (sorted.length === 0 && run.ending === null) return true;
  return sorted.length === stored.length && canonicalJson(sorted) === canonicalJson(derived);
}

/**
 * The first reason a run's chain cannot vouch for anything, or null: its header hashes to the
 * root, its events to the head, its ending to the seal, and its status and event count agree.
 * The quick form of verifyRun, for code that is about to act on the run's decisions.
 */
export function runChainProblem(run: RunRecord, events: readonly StoredEvent[]): string | null {
  if (chainRoot(run.header) !== run.rootHash) return 'its header does not hash to its chain root';
  if (run.eventCount !== events.length) return `it records ${run.eventCount} events but has ${events.length}`;
  const chain = verifyHashChain(run.rootHash, events, run.headHash);
  if (chain.length) return (chain[0] as { message: string }).message;
  if (run.ending ? run.sealHash !== sealRun(run.headHash, run.ending) : run.sealHash !== null) return 'its ending does not match its seal';
  if (!statusAgreesWithEnding(run.status, run.ending)) return `its status "${run.status}" does not agree with its sealed ending`;
  return null;
}

/**
 * Why the chain does not vouch for a ledger row of a recorded decision, or null when it does.
 * `ledger` is derived from the row's run, whose chain the caller has checked.
 */
export function unvouchedReason(ledger: RunLedger, row: DecisionRecord): string | null {
  if (row.supersedes !== null) return `decision ${row.decisionId} is a correction; the audit log vouches for those`;
  const expected = ledger.decisions.get(row.decisionId);
  if (expected === undefined) return `no decision event of run ${row.runId} vouches for decision ${row.decisionId}`;
  const differences = ledgerRowDifferences(expected, row as unknown as Record<string, unknown>);
  if (differences.length === 0) return null;
  return `decision ${row.decisionId}: ${differences.map((difference) => describeDifference(difference, `event ${expected.seq}`)).join('; ')}`;
}

/** A problem with the ledger rows a bundle (an imported tape) brings. `decision` indexes `bundle.decisions`, or is null. */
export interface BundleLedgerProblem {
  decision: number | null;
  /** Seq of the event the problem is about, where there is one. */
  seq: number | null;
  field: string | null;
  message: string;
}

/**
 * Checks what a bundle brings besides its hashed events: each ledger row is one of the run's own
 * decisions and says what its decision event says, every decision event has its row, and the
 * served models are the model events'. A correction of any decision comes only from remediation.
 */
export function bundleLedgerProblems(bundle: {
  run: RunRecord;
  events: ReadonlyArray<Pick<StoredEvent, 'seq' | 'kind' | 'json'>>;
  decisions: ReadonlyArray<Readonly<Record<string, unknown>>>;
  modelsServed: readonly string[];
}): BundleLedgerProblem[] {
  const runId = bundle.run.header.runId;
  const ledger = deriveRunLedger(bundle.run.header, bundle.events);
  const problems: BundleLedgerProblem[] = [];
  const seen = new Set<string>();
  bundle.decisions.forEach((row, index) => {
    const decisionId = String(row.decisionId);
    if (row.runId !== runId) {
      problems.push({
        decision: index,
        seq: null,
        field: 'runId',
        message: `decision ${decisionId} belongs to run ${String(row.runId)}, not to this run ${runId}: a tape brings only its own run's decisions`,
      });
      return;
    }
    if (row.supersedes !== null) {
      problems.push({
        decision: index,
        seq: null,
        field: 'supersedes',
        message: `decision ${decisionId} is a correction of ${String(row.supersedes)}: corrections come only from \`retrial remediate apply\`, not from a tape`,
      });
      return;
    }
    const expected = ledger.decisions.get(decisionId);
    if (expected === undefined) {
      problems.push({ decision: index, seq: null, field: 'decisionId', message: `decision ${decisionId} is not a decision event of this run's chain` });
      return;
    }
    seen.add(decisionId);
    for (const difference of ledgerRowDifferences(expected, row))
      problems.push({
        decision: index,
        seq: expected.seq,
        field: difference.field,
        message: `decision ${decisionId}: ${describeDifference(difference, `its hashed decision event (seq ${expected.seq})`)}`,
      });
  });
  for (const [decisionId, expected] of ledger.decisions)
    if (!seen.has(decisionId))
      problems.push({ decision: null, seq: expected.seq, field: null, message: `decision event ${expected.seq} has no ledger row (decision ${decisionId})` });
  if (!modelsServedAgree(bundle.run, bundle.modelsServed, ledger.modelsServed))
    problems.push({
      decision: null,
      seq: null,
      field: 'modelsServed',
      message: `modelsServed ${canonicalJson(bundle.modelsServed)} does not match the models served in the hashed model events ${canonicalJson(ledger.modelsServed)}`,
    });
  return problems;
}
