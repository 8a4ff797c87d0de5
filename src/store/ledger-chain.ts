import {
  canonicalJson,
  chainNext,
  chainRoot,
  type DecisionEvent,
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
  const served = new Set<string>();
  for (const event of events) {
    const name = event.kind === 'model' ? servedModelOf(event.json) : null;
    // As the recorder: an empty name is no model served.
    if (name) served.add(name);
  }
  return { decisions: deriveLedgerRows(header, events), modelsServed: [...served].sort() };
}

/** The ledger rows alone (see deriveRunLedger): reads only the decision events and the model events they name. */
export function deriveLedgerRows(header: RunHeader, events: ReadonlyArray<Pick<StoredEvent, 'seq' | 'kind' | 'json'>>): Map<string, DecisionRecord> {
  const decisions = new Map<string, DecisionRecord>();
  // A fork's decisions are counterfactual: on its tape, never in the ledger.
  if (header.fork !== undefined) return decisions;
  const bySeq = new Map(events.map((event) => [event.seq, event]));
  for (const event of events) {
    if (event.kind !== 'decision') continue;
    const decision = asDecisionEvent(parseJson(event.json));
    if (decision === undefined || decision.seq !== event.seq) continue;
    // The recorder knows only models served before the decision: a later seq names nothing.
    const step = decision.basedOnSeq === null || decision.basedOnSeq >= decision.seq ? undefined : bySeq.get(decision.basedOnSeq);
    const row = decisionRecordOf(header, decision, step?.kind === 'model' ? servedModelOf(step.json) : null);
    decisions.set(row.decisionId, row);
  }
  return decisions;
}

/**
 * The ledger row of a shipped decision event: the one place a row is made from its event, by the
 * recorder when it writes the row and by verify, import and plan when they check it.
 */
export function decisionRecordOf(run: Pick<RunHeader, 'runId' | 'agent'>, decision: DecisionEvent, modelServed: string | null): DecisionRecord {
  return {
    decisionId: `${run.runId}:${decision.seq}`,
    runId: run.runId,
    seq: decision.seq,
    agent: run.agent,
    type: decision.type,
    subject: decision.subject,
    value: decision.value,
    amount: decision.amount,
    currency: decision.currency,
    reversible: decision.reversible,
    effectiveAt: Date.parse(decision.effectiveAt),
    recordedAt: decision.at,
    modelServed,
    attributes: decision.attributes,
    supersedes: null,
  };
}

/**
 * The fields a ledger row is made of, when a value has them with their types: the checks of
 * decisionEventSchema that matter here, without its cost on every run a plan reads (an event that
 * fails the full schema is verify's EVENT_INVALID).
 */
function asDecisionEvent(value: unknown): DecisionEvent | undefined {
  const event = value as Partial<DecisionEvent> | undefined;
  if (event?.kind !== 'decision') return undefined;
  const ok =
    Number.isInteger(event.seq) &&
    typeof event.at === 'number' &&
    typeof event.type === 'string' &&
    typeof event.subject === 'string' &&
    typeof event.value === 'string' &&
    (event.amount === null || typeof event.amount === 'number') &&
    (event.currency === null || typeof event.currency === 'string') &&
    typeof event.reversible === 'boolean' &&
    typeof event.effectiveAt === 'string' &&
    (event.basedOnSeq === null || Number.isInteger(event.basedOnSeq)) &&
    typeof event.attributes === 'object' &&
    event.attributes !== null &&
    Object.values(event.attributes).every((attribute) => typeof attribute === 'string');
  return ok ? (event as DecisionEvent) : undefined;
}

/** The served model a model event's JSON names, or null. */
function servedModelOf(json: string): string | null {
  const model = parseJson(json) as { kind?: unknown; response?: { model?: { served?: unknown } } | null } | undefined;
  const name = model?.kind === 'model' ? model.response?.model?.served : undefined;
  return typeof name === 'string' ? name : null;
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
  const want = expected as unknown as Record<string, unknown>;
  const fields = Object.keys(row).length === LEDGER_FIELDS.length ? LEDGER_FIELDS : new Set<string>([...LEDGER_FIELDS, ...Object.keys(row)]);
  for (const field of fields) {
    const a = want[field];
    const b = row[field];
    // Most fields are strings and numbers: compared directly; objects (attributes) by canonical JSON.
    if (a === b && (a === undefined) === !(field in row)) continue;
    const wanted = jsonOf(a);
    const had = field in row ? jsonOf(b) : undefined;
    if (wanted !== had || typeof a !== typeof b) differences.push({ field, expected: wanted, actual: had });
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
 * The cheap form of runChainProblem for code about to act on a few events of a run (planning reads
 * one decision and its model step per run): the header hashes to the root, the last event's hash
 * is the head, the ending matches the seal, the status agrees, and each named event, and the one
 * after it, hashes from its predecessor's stored hash. An event changed with or without its own
 * hash fails here; only a forger who rewrites every later hash, the head and the seal gets past,
 * and past the full chain check too. `retrial verify` still rehashes every event.
 */
export function eventLinksProblem(run: RunRecord, events: readonly StoredEvent[], seqs: ReadonlyArray<number | null>): string | null {
  if (chainRoot(run.header) !== run.rootHash) return 'its header does not hash to its chain root';
  if (run.eventCount !== events.length) return `it records ${run.eventCount} events but has ${events.length}`;
  if ((events.at(-1)?.hash ?? run.rootHash) !== run.headHash) return 'its last event is not its recorded head';
  if (run.ending ? run.sealHash !== sealRun(run.headHash, run.ending) : run.sealHash !== null) return 'its ending does not match its seal';
  if (!statusAgreesWithEnding(run.status, run.ending)) return `its status "${run.status}" does not agree with its sealed ending`;
  for (const seq of seqs) {
    if (seq === null) continue;
    for (const at of [seq, seq + 1]) {
      if (at >= events.length) continue;
      const event = events[at];
      const previous = at === 0 ? run.rootHash : events[at - 1]?.hash;
      if (event === undefined || event.seq !== at || previous === undefined || chainNext(previous, event.json) !== event.hash)
        return `event ${at} does not hash from the event before it`;
    }
  }
  return null;
}

/**
 * Why the chain does not vouch for a ledger row of a recorded decision, or null when it does.
 * `rows` are derived from the row's run (deriveLedgerRows), whose chain the caller has checked.
 */
export function unvouchedReason(rows: ReadonlyMap<string, DecisionRecord>, row: DecisionRecord): string | null {
  if (row.supersedes !== null) return `decision ${row.decisionId} is a correction; the audit log vouches for those`;
  const expected = rows.get(row.decisionId);
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
        message: `decision ${decisionId} is a correction of ${String(row.supersedes)}: corrections come only from \`npx retrial remediate apply\`, not from a tape`,
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
