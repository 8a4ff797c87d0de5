import {
  blobRefsInside,
  blobRefsOfEvent,
  canonicalJson,
  chainRoot,
  decodeBlob,
  EVENT_SCHEMA_REVISION,
  parseEvent,
  RetrialError,
  type RunRecord,
  runHeaderSchema,
  sealRun,
  statusAgreesWithEnding,
  type TapeEvent,
  verifyBlob,
  verifyHashChain,
} from '../tape/index.ts';
import { deriveRunLedger, describeDifference, ledgerRowDifferences, modelsServedAgree } from './ledger-chain.ts';
import type { Store, StoredEvent, StoredTape } from './store.ts';
import { type CorrectionVouchers, checkCorrectionRow, loadCorrectionVouchers } from './verify-ledger.ts';

/** One thing wrong with a stored run. `seq` names the event where there is one. */
export interface VerifyProblem {
  code:
    | 'HEADER_CHANGED'
    | 'EVENT_HASH_MISMATCH'
    | 'SEQ_GAP'
    | 'HEAD_MISMATCH'
    | 'SEAL_MISMATCH'
    | 'EVENT_INVALID'
    | 'BLOB_MISSING'
    | 'BLOB_CORRUPT'
    | 'TAPE_MISMATCH'
    /** The run's row cannot be read (a header or ending that is not JSON): the rest of it is unchecked. */
    | 'RUN_UNREADABLE'
    /** A column of the run's row (status, eventCount, modelsServed) disagrees with its sealed ending or its events. */
    | 'RUN_ROW_MISMATCH'
    /** A field of a shipped decision's ledger row differs from its hashed decision event. */
    | 'LEDGER_MISMATCH'
    /** A ledger row no decision event of its run vouches for (or whose run is not in the store). */
    | 'LEDGER_ROW_UNVOUCHED'
    /** A decision event without its ledger row: backfill would never see the decision. */
    | 'LEDGER_ROW_MISSING'
    /** A correction (a row that supersedes another) no audit entry of an applied correction vouches for. */
    | 'CORRECTION_UNVOUCHED'
    /** A field of a correction's row differs from what its audit entry says. */
    | 'CORRECTION_MISMATCH'
    /** An audit entry says a correction was applied, and its row is gone from the ledger. */
    | 'CORRECTION_MISSING'
    /** The audit log's own chain is broken, so it vouches for nothing after the break. */
    | 'AUDIT_CHAIN_BROKEN';
  seq: number | null;
  blob?: string;
  /** The ledger row the problem is about. */
  decisionId?: string;
  /** The field of the run's row or the ledger row that disagrees. */
  field?: string;
  message: string;
}

export interface RunVerification {
  runId: string;
  ok: boolean;
  events: number;
  blobsChecked: number;
  /** Ledger rows of the run checked against its chain (corrections against the audit log). */
  decisionsChecked: number;
  problems: VerifyProblem[];
}

/** What verifying many runs shares: blob outcomes, and the audit entries that vouch for corrections. */
export interface VerifyContext {
  checkedBlobs: Map<string, string | null>;
  vouchers: Promise<CorrectionVouchers>;
}

export function createVerifyContext(store: Store): VerifyContext {
  const vouchers = loadCorrectionVouchers(store);
  // Awaited by the first run with a correction; a failure surfaces there, as that run's problem.
  vouchers.catch(() => {});
  return { checkedBlobs: new Map(), vouchers };
}

/**
 * Checks a run end to end: the header hashes to the root, every event's bytes hash along the
 * chain to the recorded head, the ending matches the seal, the run's row (status, event count,
 * models served) agrees with them, every ledger row of the run says what its hashed decision event
 * says (a correction: what its audit entry says), and every blob the run references exists and
 * hashes to its address. A run that cannot be read is that run's problem, never an exception:
 * only a run id the store does not have throws (RunNotFoundError).
 */
export async function verifyRun(store: Store, runId: string, context: VerifyContext = createVerifyContext(store)): Promise<RunVerification> {
  const result: RunVerification = { runId, ok: false, events: 0, blobsChecked: 0, decisionsChecked: 0, problems: [] };
  let run: RunRecord;
  try {
    run = await store.getRunOrThrow(runId);
  } catch (error) {
    if (RetrialError.isInstance(error) && error.code === 'RUN_NOT_FOUND') throw error;
    result.problems.push(unreadable(error));
    return result;
  }
  try {
    await checkRun(store, run, context, result);
  } catch (error) {
    // A part of the run that cannot be read (a damaged pack, a column that is not JSON) ends its check, not verify's.
    result.problems.push(unreadable(error));
  }
  result.ok = result.problems.length === 0;
  return result;
}

function unreadable(error: unknown): VerifyProblem {
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'RUN_UNREADABLE', seq: null, message: `${message.replace(/\.$/, '')}; the rest of this run was not checked` };
}

async function checkRun(store: Store, run: RunRecord, context: VerifyContext, result: RunVerification): Promise<void> {
  const { runId } = result;
  const problems = result.problems;
  const header = runHeaderSchema().safeParse(run.header);
  if (!header.success || chainRoot(run.header) !== run.rootHash)
    problems.push({ code: 'HEADER_CHANGED', seq: null, message: 'the run header does not hash to its chain root: the header was changed' });
  const events = await store.getEvents(runId);
  result.events = events.length;
  for (const problem of verifyHashChain(run.rootHash, events, run.headHash)) problems.push(problem);
  if (run.ending ? run.sealHash !== sealRun(run.headHash, run.ending) : run.sealHash !== null)
    problems.push({ code: 'SEAL_MISMATCH', seq: null, message: "the run's ending (status, output) does not match its seal: it was changed" });
  const tape = await store.getTape(runId);
  const tapeProblems = checkTapeAgainstRows(tape, events);
  problems.push(...tapeProblems);
  problems.push(...(await checkRunRowAndLedger(store, run, events, tape, context, result)));

  // The store validated these very texts under this schema revision when it packed them (its note
  // is bound to the bytes by a hash, SQLite's readRunPack checks it), and the rows hold the same
  // texts: validating them again would only repeat the answer, at about a third of verify's time.
  const vouched =
    tape.eventsValidUnder === EVENT_SCHEMA_REVISION && !tapeProblems.some((problem) => problem.code === 'TAPE_MISMATCH' && problem.blob === undefined);
  const refs = new Map<string, number>();
  for (const row of events) {
    let value: unknown;
    try {
      value = JSON.parse(row.json);
    } catch {
      problems.push({ code: 'EVENT_INVALID', seq: row.seq, message: `event ${row.seq} is not valid JSON` });
      continue;
    }
    const parsed = vouched ? { ok: true as const, event: value as TapeEvent } : parseEvent(value);
    if (!parsed.ok) problems.push({ code: 'EVENT_INVALID', seq: row.seq, message: `event ${row.seq}: ${parsed.message}` });
    else if (parsed.event) for (const ref of blobRefsOfEvent(parsed.event)) if (!refs.has(ref)) refs.set(ref, row.seq);
  }
  if (run.ending?.output) refs.set(run.ending.output, -1);

  const { checkedBlobs } = context;
  const pending = [...refs.keys()].filter((ref) => !checkedBlobs.has(ref));
  const check = async (hashes: string[], seqOf: (hash: string) => number) => {
    // Most runs of a grown store reach only blobs an earlier run checked: nothing to read.
    if (hashes.length === 0) return [];
    const found = await store.getBlobs(hashes);
    const nested: string[] = [];
    for (const hash of hashes) {
      const blob = found.get(hash);
      result.blobsChecked++;
      if (!blob) {
        checkedBlobs.set(hash, 'missing');
        continue;
      }
      const outcome = verifyBlob(blob);
      checkedBlobs.set(hash, outcome.ok ? null : outcome.reason);
      if (outcome.ok) {
        for (const inner of blobRefsInside(decodeBlob(blob))) {
          if (refs.has(inner)) continue;
          refs.set(inner, seqOf(hash));
          if (!checkedBlobs.has(inner)) nested.push(inner);
        }
      }
    }
    return nested;
  };
  let nested = await check(pending, (hash) => refs.get(hash) ?? -1);
  while (nested.length) nested = await check(nested, (hash) => refs.get(hash) ?? -1);
  for (const [ref, seq] of refs) {
    const outcome = checkedBlobs.get(ref);
    if (outcome === undefined || outcome === null) continue;
    const where = seq === -1 ? 'the run output' : `event ${seq}`;
    if (outcome === 'missing')
      problems.push({
        code: 'BLOB_MISSING',
        seq: seq === -1 ? null : seq,
        blob: ref,
        message: `blob ${ref.slice(0, 12)}… of ${where} is missing from the store`,
      });
    else
      problems.push({ code: 'BLOB_CORRUPT', seq: seq === -1 ? null : seq, blob: ref, message: `blob ${ref.slice(0, 12)}… of ${where} is corrupt: ${outcome}` });
  }
}

/**
 * The run's row and its ledger rows against its chain: the status the sealed ending allows, the
 * event count, the served models of its model events, and each ledger row field by field against
 * the decision event it indexes (a correction against its audit entry). Every row that disagrees is
 * named with its field; a decision event without its row is named too.
 */
async function checkRunRowAndLedger(
  store: Store,
  run: RunRecord,
  events: readonly StoredEvent[],
  tape: StoredTape,
  context: VerifyContext,
  result: RunVerification,
): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  const rowProblem = (field: string, message: string) => problems.push({ code: 'RUN_ROW_MISMATCH', seq: null, field, message });
  if (!statusAgreesWithEnding(run.status, run.ending))
    rowProblem(
      'status',
      `the run's status "${run.status}" does not agree with its sealed ending (${run.ending ? `"${run.ending.status}"` : 'none'}): it was changed`,
    );
  if (run.eventCount !== events.length) rowProblem('eventCount', `the run's row says ${run.eventCount} events but it has ${events.length}`);
  const ledger = deriveRunLedger(run.header, events);
  if (!modelsServedAgree(run, tape.modelsServed, ledger.modelsServed))
    rowProblem(
      'modelsServed',
      `the run's models served ${canonicalJson(tape.modelsServed)} are not the models its model events were served by ${canonicalJson(ledger.modelsServed)}`,
    );

  const rows = await store.listDecisions({ runId: run.header.runId, includeSuperseded: true });
  result.decisionsChecked = rows.length;
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.supersedes !== null) {
      problems.push(...checkCorrectionRow(row, await context.vouchers, ledger));
      continue;
    }
    const expected = ledger.decisions.get(row.decisionId);
    if (expected === undefined) {
      problems.push({
        code: 'LEDGER_ROW_UNVOUCHED',
        seq: row.seq,
        decisionId: row.decisionId,
        message: `decision ${row.decisionId} is in the ledger but no decision event of this run vouches for it`,
      });
      continue;
    }
    seen.add(row.decisionId);
    for (const difference of ledgerRowDifferences(expected, row as unknown as Record<string, unknown>))
      problems.push({
        code: 'LEDGER_MISMATCH',
        seq: expected.seq,
        decisionId: row.decisionId,
        field: difference.field,
        message: `decision ${row.decisionId}: ${describeDifference(difference, `its hashed decision event ${expected.seq}`)}`,
      });
  }
  for (const [decisionId, expected] of ledger.decisions)
    if (!seen.has(decisionId))
      problems.push({
        code: 'LEDGER_ROW_MISSING',
        seq: expected.seq,
        decisionId,
        message: `decision event ${expected.seq} has no ledger row (${decisionId}): backfill would never see it`,
      });
  return problems;
}

/**
 * Replay reads a run through getTape (in SQLite, a finished run's pack and its index), the chain
 * check above reads the rows: they must hold the same events, and what getTape keeps with the run
 * must hash to its addresses, or a replay could serve what verify never saw.
 */
function checkTapeAgainstRows(tape: StoredTape, events: readonly StoredEvent[]): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const differs = events.findIndex((event, index) => tape.eventTexts[index] !== event.json);
  if (differs >= 0 || tape.eventTexts.length !== events.length) {
    const seq = differs >= 0 ? differs : Math.min(events.length, tape.eventTexts.length);
    problems.push({
      code: 'TAPE_MISMATCH',
      seq,
      message: `what replay reads for this run (${tape.eventTexts.length} events) differs from its event rows (${events.length}) at event ${seq}`,
    });
  }
  for (const [hash, blob] of tape.blobs) {
    const result = blob.hash === hash ? verifyBlob(blob) : { ok: false as const, reason: `stored with the run under ${hash.slice(0, 12)}…` };
    if (!result.ok)
      problems.push({ code: 'TAPE_MISMATCH', seq: null, blob: hash, message: `blob ${hash.slice(0, 12)}… as replay reads it is corrupt: ${result.reason}` });
  }
  return problems;
}

/**
 * Verifies every run (or the given ones), one result per run so one bad run hides no other.
 * verifyLedger checks what belongs to no run's chain (the audit log, rows of runs the store lacks).
 */
export async function* verifyStore(
  store: Store,
  runIds?: readonly string[],
  context: VerifyContext = createVerifyContext(store),
): AsyncGenerator<RunVerification> {
  for (const runId of runIds ?? (await store.listRunIds())) yield await verifyRun(store, runId, context);
}
