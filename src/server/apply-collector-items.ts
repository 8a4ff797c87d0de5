import { type DecisionRecord, markRunIncomplete, type Store, type StoredEvent, type WriteBatch } from '../store/index.ts';
import {
  type BlobEncoding,
  chainNext,
  chainRoot,
  parseEvent,
  type RunEnding,
  type RunHeader,
  type RunRecord,
  type StoredBlob,
  sealRun,
  verifyBlob,
} from '../tape/index.ts';
import type { ParsedCollectorItem, ParsedWriteBatch } from './collector-schema.ts';

/** A run of a batch the collector will not store, and why (one line). */
export interface RunRefusal {
  runId: string;
  message: string;
}

/**
 * Why an item was not applied. 409: a run's events or ending do not continue what the store holds
 * of it (`runs` names them; the item's other runs were not written either and may be sent again
 * without them). 422: the item is well-formed JSON but not a valid recording (a blob whose bytes do
 * not hash to its address, an event that is not an event). 503: the store refused the write.
 */
export class CollectorRejection extends Error {
  readonly status: 409 | 422 | 503;
  readonly code: string;
  readonly runs: RunRefusal[];
  constructor({ status, code, message, runs = [] }: { status: 409 | 422 | 503; code: string; message: string; runs?: RunRefusal[] }) {
    super(message);
    this.name = 'CollectorRejection';
    this.status = status;
    this.code = code;
    this.runs = runs;
  }
}

class RunRefused extends Error {}

function refuse(message: string): never {
  throw new RunRefused(message);
}

function decodeBlob(blob: ParsedWriteBatch['blobs'][number]): StoredBlob {
  const data = blob.encoding === 'json' ? Buffer.from(blob.text, 'utf8') : Buffer.from(blob.base64, 'base64');
  const encoding: BlobEncoding = blob.encoding;
  return { hash: blob.hash, encoding, size: blob.encoding === 'json' ? data.length : blob.size, data };
}

/** A run as it starts: its root is the hash of its header, and it has nothing else yet. */
function startProblem(record: RunRecord): string | undefined {
  if (chainRoot(record.header) !== record.rootHash) return 'its rootHash is not the hash of its header';
  if (record.headHash !== record.rootHash || record.eventCount !== 0 || record.sealHash !== null || record.ending !== null || record.status !== 'recording')
    return 'a run starts with no events, no ending and status recording (headHash equal to rootHash)';
  if (Number.isNaN(Date.parse(record.header.recordedAt))) return `header.recordedAt "${record.header.recordedAt}" is not an ISO-8601 time`;
  return undefined;
}

/** An event's indexed columns must say what its hashed text says, and the text must be an event. */
function eventProblem(event: StoredEvent): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(event.json);
  } catch {
    return `event ${event.seq}: its json is not JSON`;
  }
  const fields = value as { seq?: unknown; kind?: unknown; key?: unknown; at?: unknown };
  if (fields.seq !== event.seq || fields.kind !== event.kind || fields.key !== event.key || fields.at !== event.at)
    return `event ${event.seq}: seq, kind, key and at must be the ones in its json`;
  const parsed = parseEvent(value);
  if (!parsed.ok) return `event ${event.seq}: ${parsed.message}`;
  return undefined;
}

interface RunState {
  header: RunHeader;
  head: string;
  count: number;
  /** The seal of its ending, once it has one. */
  sealHash: string | null;
}

/**
 * What of one run's parts is new, checked against what the store holds: the events must chain onto
 * the run's head hash and its ending must seal the head. Parts the store already holds the same (a
 * batch sent again because its acknowledgement was lost) are left out, so sending twice is harmless.
 */
async function planRun(store: Store, runId: string, batch: ParsedWriteBatch, plan: WriteBatch): Promise<void> {
  const existing = await store.getRun(runId);
  let state: RunState | undefined = existing
    ? { header: existing.header, head: existing.headHash, count: existing.eventCount, sealHash: existing.ending ? existing.sealHash : null }
    : undefined;
  const storedCount = existing?.eventCount ?? 0;
  for (const start of batch.runsStarted) {
    if (start.run.header.runId !== runId) continue;
    const run = start.run as RunRecord;
    const problem = startProblem(run);
    if (problem) refuse(`its start cannot be stored: ${problem}`);
    if (existing) {
      if (existing.rootHash !== run.rootHash) refuse(`another run with the id ${runId} (another header) is already stored`);
      continue;
    }
    if (state) refuse('the batch starts it twice');
    plan.runsStarted.push({ run, writer: start.writer });
    state = { header: run.header, head: run.rootHash, count: 0, sealHash: null };
  }
  if (!state) refuse(`the store has no run ${runId}: its start was not sent before its events, or was refused`);
  let stored: StoredEvent[] | undefined;
  const added: StoredEvent[] = [];
  for (const append of batch.appends) {
    if (append.runId !== runId) continue;
    for (const event of append.events) {
      if (event.seq < state.count) {
        stored ??= await store.getEvents(runId);
        const present = event.seq < storedCount ? stored[event.seq] : added[event.seq - storedCount];
        if (present?.hash !== event.hash) refuse(`event ${event.seq} differs from the event ${event.seq} already stored`);
        continue;
      }
      if (state.sealHash !== null) refuse(`the run has ended; event ${event.seq} cannot be added`);
      if (event.seq > state.count) refuse(`event ${event.seq} leaves a gap: the run's next event is ${state.count}`);
      if (chainNext(state.head, event.json) !== event.hash)
        refuse(`event ${event.seq} does not chain onto the run's head ${state.head.slice(0, 12)}…: its hash must be sha256 of the head and its json`);
      const problem = eventProblem(event);
      if (problem) refuse(problem);
      added.push(event);
      state.head = event.hash;
      state.count++;
    }
  }
  const decisions: DecisionRecord[] = [];
  for (const decision of batch.decisions) {
    if (decision.runId !== runId) continue;
    if (decision.decisionId !== `${runId}:${decision.seq}`) refuse(`decision ${decision.decisionId} must be named ${runId}:${decision.seq}`);
    // A ledger row is written with its decision event: one already stored came with its row.
    if (decision.seq < storedCount) continue;
    const event = added[decision.seq - storedCount];
    if (event?.kind !== 'decision') refuse(`decision ${decision.decisionId} names event ${decision.seq}, which is not a decision event of this batch`);
    decisions.push(decision);
  }
  const ends: WriteBatch['runsEnded'] = [];
  for (const end of batch.runsEnded) {
    if (end.runId !== runId) continue;
    if (state.sealHash !== null) {
      if (state.sealHash === end.sealHash && added.length === 0) continue;
      refuse('the run has already ended');
    }
    if (sealRun(state.head, end.ending as RunEnding) !== end.sealHash) refuse(`its ending does not seal the run's head ${state.head.slice(0, 12)}…`);
    ends.push(end as WriteBatch['runsEnded'][number]);
    state.sealHash = end.sealHash;
  }
  if (added.length) plan.appends.push({ runId, events: added, headHash: state.head });
  plan.decisions.push(...decisions);
  plan.runsEnded.push(...ends);
}

function runIdsOf(batch: ParsedWriteBatch): string[] {
  const ids = new Set<string>();
  for (const { run } of batch.runsStarted) ids.add(run.header.runId);
  for (const { runId } of batch.appends) ids.add(runId);
  for (const { runId } of batch.decisions) ids.add(runId);
  for (const { runId } of batch.runsEnded) ids.add(runId);
  return [...ids];
}

/** Checks a write item against the store and returns the part of it to write; throws CollectorRejection. */
export async function planWrite(store: Store, batch: ParsedWriteBatch): Promise<WriteBatch> {
  const plan: WriteBatch = { runsStarted: [], appends: [], blobs: [], decisions: [], runsEnded: [] };
  for (const wire of batch.blobs) {
    const blob = decodeBlob(wire);
    const check = verifyBlob(blob);
    if (!check.ok) throw new CollectorRejection({ status: 422, code: 'INVALID_BLOB', message: `blob ${blob.hash.slice(0, 12)}…: ${check.reason}` });
    plan.blobs.push(blob);
  }
  const refusals: RunRefusal[] = [];
  for (const runId of runIdsOf(batch)) {
    // A run's parts join the plan only when all of them pass.
    const part: WriteBatch = { runsStarted: [], appends: [], blobs: [], decisions: [], runsEnded: [] };
    try {
      await planRun(store, runId, batch, part);
    } catch (error) {
      if (!(error instanceof RunRefused)) throw error;
      refusals.push({ runId, message: error.message });
      continue;
    }
    plan.runsStarted.push(...part.runsStarted);
    plan.appends.push(...part.appends);
    plan.decisions.push(...part.decisions);
    plan.runsEnded.push(...part.runsEnded);
  }
  if (refusals.length) {
    const [first] = refusals as [RunRefusal];
    const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more runs)` : '';
    throw new CollectorRejection({ status: 409, code: 'CHAIN_MISMATCH', message: `run ${first.runId}: ${first.message}${more}`, runs: refusals });
  }
  return plan;
}

/** Applies one item: a write batch atomically, or a mark of a run whose recording stopped early. */
export async function applyCollectorItem(store: Store, item: ParsedCollectorItem): Promise<void> {
  if (item.type === 'mark') {
    const record = item.mark.record as RunRecord;
    const problem = startProblem(record);
    if (problem) throw new CollectorRejection({ status: 422, code: 'INVALID_MARK', message: `mark of run ${record.header.runId}: ${problem}` });
    if (item.mark.ending.status !== 'incomplete')
      throw new CollectorRejection({
        status: 422,
        code: 'INVALID_MARK',
        message: `mark of run ${record.header.runId}: its ending's status must be incomplete`,
      });
    await writeOrUnavailable(() => markRunIncomplete(store, { record, ending: item.mark.ending as RunEnding, writer: item.mark.writer }));
    return;
  }
  const plan = await planWrite(store, item.batch);
  await writeOrUnavailable(() => store.write(plan));
}

/** A store that refuses a write that passed every check is unavailable for now: the recorder sends again. */
async function writeOrUnavailable(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    throw new CollectorRejection({
      status: 503,
      code: 'STORE_UNAVAILABLE',
      message: `the store refused the write: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
