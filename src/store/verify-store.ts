import { blobRefsInside, blobRefsOfEvent, chainRoot, decodeBlob, parseEvent, runHeaderSchema, sealRun, verifyBlob, verifyHashChain } from '../tape/index.ts';
import type { Store, StoredEvent } from './store.ts';

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
    | 'TAPE_MISMATCH';
  seq: number | null;
  blob?: string;
  message: string;
}

export interface RunVerification {
  runId: string;
  ok: boolean;
  events: number;
  blobsChecked: number;
  problems: VerifyProblem[];
}

/**
 * Checks a run end to end: the header hashes to the root, every event's bytes hash along the
 * chain to the recorded head, the ending matches the seal, and every blob the run references
 * exists and hashes to its address. `checkedBlobs` carries blob results across runs.
 */
export async function verifyRun(store: Store, runId: string, checkedBlobs = new Map<string, string | null>()): Promise<RunVerification> {
  const run = await store.getRunOrThrow(runId);
  const problems: VerifyProblem[] = [];
  const header = runHeaderSchema.safeParse(run.header);
  if (!header.success || chainRoot(run.header) !== run.rootHash)
    problems.push({ code: 'HEADER_CHANGED', seq: null, message: 'the run header does not hash to its chain root: the header was changed' });
  const events = await store.getEvents(runId);
  for (const problem of verifyHashChain(run.rootHash, events, run.headHash)) problems.push(problem);
  if (run.ending && run.sealHash !== sealRun(run.headHash, run.ending))
    problems.push({ code: 'SEAL_MISMATCH', seq: null, message: "the run's ending (status, output) does not match its seal: it was changed" });
  problems.push(...(await checkTapeAgainstRows(store, runId, events)));

  const refs = new Map<string, number>();
  for (const row of events) {
    let value: unknown;
    try {
      value = JSON.parse(row.json);
    } catch {
      problems.push({ code: 'EVENT_INVALID', seq: row.seq, message: `event ${row.seq} is not valid JSON` });
      continue;
    }
    const parsed = parseEvent(value);
    if (!parsed.ok) problems.push({ code: 'EVENT_INVALID', seq: row.seq, message: `event ${row.seq}: ${parsed.message}` });
    else if (parsed.event) for (const ref of blobRefsOfEvent(parsed.event)) if (!refs.has(ref)) refs.set(ref, row.seq);
  }
  if (run.ending?.output) refs.set(run.ending.output, -1);

  let blobsChecked = 0;
  const pending = [...refs.keys()].filter((ref) => !checkedBlobs.has(ref));
  const check = async (hashes: string[], seqOf: (hash: string) => number) => {
    const found = await store.getBlobs(hashes);
    const nested: string[] = [];
    for (const hash of hashes) {
      const blob = found.get(hash);
      blobsChecked++;
      if (!blob) {
        checkedBlobs.set(hash, 'missing');
        continue;
      }
      const result = verifyBlob(blob);
      checkedBlobs.set(hash, result.ok ? null : result.reason);
      if (result.ok) {
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
  return { runId, ok: problems.length === 0, events: events.length, blobsChecked, problems };
}

/**
 * Replay reads a run through getTape (in SQLite, a finished run's pack and its index), the chain
 * check above reads the rows: they must hold the same events, and what getTape keeps with the run
 * must hash to its addresses, or a replay could serve what verify never saw.
 */
async function checkTapeAgainstRows(store: Store, runId: string, events: readonly StoredEvent[]): Promise<VerifyProblem[]> {
  const tape = await store.getTape(runId);
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

/** Verifies every run (or the given ones), one result per run so one bad run hides no other. */
export async function* verifyStore(store: Store, runIds?: readonly string[]): AsyncGenerator<RunVerification> {
  const checked = new Map<string, string | null>();
  for (const runId of runIds ?? (await store.listRunIds())) yield await verifyRun(store, runId, checked);
}
