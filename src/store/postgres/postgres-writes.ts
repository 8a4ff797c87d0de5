import { canonicalJson, type RunRecord, type StoredBlob } from '../../tape/index.ts';
import type { DecisionRecord, RunBundle, RunWriter, StoredEvent, WriteBatch } from '../store.ts';
import { runParameters } from '../stored-rows.ts';
import { checkAppend, checkEnding, type RunWriteState } from '../write-batch-checks.ts';
import type { PgClientLike } from './postgres-database.ts';
import { hashBytes } from './postgres-packing.ts';
import { columnsOf, DECISION_ARRAY_TYPES, DECISION_COLUMNS, decisionParameters, unnestOf } from './postgres-rows.ts';

/**
 * Applies a batch; the caller wraps this in one transaction, so a check or constraint failing
 * anywhere rolls back everything. A flush is three statements whatever its size: the new runs,
 * the lock and read of the runs it touches (the checks run here, on what is committed), then one
 * statement whose parts (events, blobs, decisions, the runs' heads and endings) are data-modifying
 * CTEs over arrays (unnest).
 *
 * Lock order, the same in every transaction that writes runs or blobs: the batch's run rows in
 * run id order (FOR UPDATE, which also serializes two writers of one run, so the seq checks below
 * see the committed count), then blob keys in hash order. Two processes whose batches share blobs
 * (the same system prompt) then wait for each other at most once, never in a cycle.
 */
export async function applyWriteBatch(client: PgClientLike, batch: WriteBatch): Promise<void> {
  await insertRuns(
    client,
    batch.runsStarted.map(({ run, writer }) => ({ run, writer, modelsServed: [], eventBytes: 0 })),
  );
  const touched = [...new Set([...batch.appends.map((append) => append.runId), ...batch.runsEnded.map((ended) => ended.runId)])].sort();
  const states = await lockRunStates(client, touched);
  const events: unknown[][] = [];
  // One row per run: a statement updates a row once, so two appends and an ending of one run meet here.
  const updates = new Map<string, RunUpdate>();
  const updateOf = (runId: string) => {
    let update = updates.get(runId);
    if (!update) {
      update = { runId, headHash: null, added: 0, bytes: 0, status: null, endingJson: null, sealHash: null, models: null };
      updates.set(runId, update);
    }
    return update;
  };
  for (const append of batch.appends) {
    const state = states.get(append.runId);
    checkAppend(append.runId, state, append.events, append.headHash);
    if (state) state.eventCount += append.events.length;
    for (const event of append.events) events.push(eventRow(append.runId, event));
    const update = updateOf(append.runId);
    update.headHash = append.headHash;
    update.added += append.events.length;
    update.bytes += jsonBytes(append.events);
  }
  for (const { runId, ending, sealHash, modelsServed } of batch.runsEnded) {
    const state = states.get(runId);
    checkEnding(runId, state);
    if (state) state.ended = true;
    Object.assign(updateOf(runId), { status: ending.status, endingJson: canonicalJson(ending), sealHash, models: JSON.stringify(modelsServed) });
  }
  await runParts(client, [eventsPart(events), blobsPart(batch.blobs), decisionsPart(batch.decisions), runUpdatesPart([...updates.values()])]);
}

interface RunUpdate {
  runId: string;
  /** Null when the batch appends nothing to the run. */
  headHash: string | null;
  added: number;
  bytes: number;
  /** Null when the batch does not end the run. */
  status: string | null;
  endingJson: string | null;
  sealHash: string | null;
  /** JSON array of the models served, or null. */
  models: string | null;
}

/** One statement of a write: SQL whose parameters start at `first`, and their values. */
interface StatementPart {
  sql(first: number): string;
  values: unknown[];
}

/** Runs the parts as one statement (each a data-modifying CTE), in one round trip. */
async function runParts(client: PgClientLike, parts: ReadonlyArray<StatementPart | null>): Promise<void> {
  const present = parts.filter((part): part is StatementPart => part !== null);
  if (present.length === 0) return;
  if (present.length === 1) {
    const [only] = present as [StatementPart];
    await client.query(only.sql(1), only.values);
    return;
  }
  let next = 1;
  const ctes: string[] = [];
  const values: unknown[] = [];
  for (const [position, part] of present.entries()) {
    ctes.push(`part${position} AS (${part.sql(next)})`);
    values.push(...part.values);
    next += part.values.length;
  }
  await client.query(`WITH ${ctes.join(', ')} SELECT 1`, values);
}

const EVENT_TYPES = ['text[]', 'integer[]', 'text[]', 'text[]', 'float8[]', 'text[]', 'bytea[]'];
function eventsPart(rows: unknown[][]): StatementPart | null {
  if (rows.length === 0) return null;
  return {
    sql: (first) => `INSERT INTO events (run_id, seq, kind, causal_key, at, json, hash) SELECT * FROM ${unnestOf(EVENT_TYPES, first)}`,
    values: columnsOf(rows, EVENT_TYPES.length),
  };
}

/** Content-addressed: a blob that exists (written by any process, even at this moment) is left as it is. */
function blobsPart(blobs: readonly StoredBlob[]): StatementPart | null {
  if (blobs.length === 0) return null;
  const unique = new Map(blobs.map((blob) => [blob.hash, blob]));
  const sorted = [...unique.values()].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const rows = sorted.map((blob) => [
    hashBytes(blob.hash),
    blob.encoding,
    blob.size,
    Buffer.from(blob.data.buffer, blob.data.byteOffset, blob.data.byteLength),
  ]);
  return {
    sql: (first) =>
      `INSERT INTO blobs (hash, encoding, size, data) SELECT * FROM ${unnestOf(['bytea[]', 'text[]', 'integer[]', 'bytea[]'], first)} ORDER BY 1 ON CONFLICT (hash) DO NOTHING`,
    values: columnsOf(rows, 4),
  };
}

function decisionsPart(decisions: readonly DecisionRecord[]): StatementPart | null {
  if (decisions.length === 0) return null;
  return {
    sql: (first) => `INSERT INTO decisions (${DECISION_COLUMNS}) SELECT * FROM ${unnestOf(DECISION_ARRAY_TYPES, first)}`,
    values: columnsOf(decisions.map(decisionParameters), DECISION_ARRAY_TYPES.length),
  };
}

const RUN_UPDATE_TYPES = ['text[]', 'text[]', 'integer[]', 'bigint[]', 'text[]', 'text[]', 'text[]', 'text[]'];
function runUpdatesPart(updates: readonly RunUpdate[]): StatementPart | null {
  if (updates.length === 0) return null;
  const rows = updates.map((update) => [
    update.runId,
    update.headHash,
    update.added,
    update.bytes,
    update.status,
    update.endingJson,
    update.sealHash,
    update.models,
  ]);
  return {
    sql: (first) =>
      `UPDATE runs r SET head_hash = COALESCE(u.head_hash, r.head_hash), event_count = r.event_count + u.added, event_bytes = r.event_bytes + u.bytes,
         status = COALESCE(u.status, r.status), ending_json = COALESCE(u.ending_json, r.ending_json), seal_hash = COALESCE(u.seal_hash, r.seal_hash),
         models_served = CASE WHEN u.models IS NULL THEN r.models_served ELSE ARRAY(SELECT jsonb_array_elements_text(u.models::jsonb)) END
       FROM ${unnestOf(RUN_UPDATE_TYPES, first)} AS u(run_id, head_hash, added, bytes, status, ending_json, seal_hash, models) WHERE r.run_id = u.run_id`,
    values: columnsOf(rows, RUN_UPDATE_TYPES.length),
  };
}

/** Writes a bundle unless its run is present; the caller wraps this in one transaction. */
export async function applyRunImport(client: PgClientLike, bundle: RunBundle): Promise<'imported' | 'exists'> {
  const runId = bundle.run.header.runId;
  // ON CONFLICT: two imports of one run at once, the second finds it there instead of failing.
  const inserted = await insertRuns(client, [{ run: bundle.run, writer: null, modelsServed: bundle.modelsServed, eventBytes: jsonBytes(bundle.events) }], true);
  if (inserted === 0) return 'exists';
  await runParts(client, [eventsPart(bundle.events.map((event) => eventRow(runId, event))), blobsPart(bundle.blobs), decisionsPart(bundle.decisions)]);
  return 'imported';
}

/** The runs' write state, their rows locked until the transaction ends. */
async function lockRunStates(client: PgClientLike, runIds: readonly string[]): Promise<Map<string, RunWriteState>> {
  const states = new Map<string, RunWriteState>();
  if (runIds.length === 0) return states;
  const result = await client.query(
    'SELECT run_id, event_count, ending_json IS NOT NULL AS ended FROM runs WHERE run_id = ANY($1::text[]) ORDER BY run_id FOR UPDATE',
    [runIds],
  );
  for (const row of result.rows) states.set(row.run_id as string, { eventCount: row.event_count as number, ended: row.ended as boolean });
  return states;
}

interface RunToInsert {
  run: RunRecord;
  writer: RunWriter | null;
  modelsServed: readonly string[];
  eventBytes: number;
}

const RUN_ARRAY_TYPES = [
  'text[]',
  'text[]',
  'text[]',
  'bigint[]',
  'text[]',
  'text[]',
  'text[]',
  'text[]',
  'integer[]',
  'bigint[]',
  'text[]',
  'integer[]',
  'text[]',
  'text[]',
  'text[]',
];

/** Inserts runs and their external ids; returns how many runs were new (`skipExisting`: others are left as they are). */
async function insertRuns(client: PgClientLike, runs: readonly RunToInsert[], skipExisting = false): Promise<number> {
  if (runs.length === 0) return 0;
  const rows = runs.map(({ run, writer, modelsServed, eventBytes }) => runParameters(run, writer, modelsServed, eventBytes));
  const inserted = await client.query(
    `INSERT INTO runs (run_id, agent, status, recorded_at, header_json, root_hash, head_hash, seal_hash, event_count, event_bytes,
       ending_json, writer_pid, writer_host, parent_run_id, models_served)
     SELECT u.run_id, u.agent, u.status, u.recorded_at, u.header_json, u.root_hash, u.head_hash, u.seal_hash, u.event_count, u.event_bytes,
       u.ending_json, u.writer_pid, u.writer_host, u.parent_run_id, ARRAY(SELECT jsonb_array_elements_text(u.models::jsonb))
       FROM ${unnestOf(RUN_ARRAY_TYPES)} AS u(run_id, agent, status, recorded_at, header_json, root_hash, head_hash, seal_hash, event_count,
         event_bytes, ending_json, writer_pid, writer_host, parent_run_id, models)
     ${skipExisting ? 'ON CONFLICT (run_id) DO NOTHING' : ''} RETURNING run_id`,
    columnsOf(rows, RUN_ARRAY_TYPES.length),
  );
  const fresh = new Set(inserted.rows.map((row) => row.run_id as string));
  const externalIds = runs.flatMap(({ run }) =>
    fresh.has(run.header.runId) ? Object.entries(run.header.externalIds).map(([name, value]) => [run.header.runId, name, value]) : [],
  );
  if (externalIds.length)
    await client.query(
      `INSERT INTO run_external_ids (run_id, name, value) SELECT * FROM ${unnestOf(['text[]', 'text[]', 'text[]'])}`,
      columnsOf(externalIds, 3),
    );
  return fresh.size;
}

function eventRow(runId: string, event: StoredEvent): unknown[] {
  return [runId, event.seq, event.kind, event.key, event.at, event.json, hashBytes(event.hash)];
}

/** UTF-8 bytes of the events' JSON, kept per run for `stats`. */
function jsonBytes(events: readonly StoredEvent[]): number {
  return events.reduce((total, event) => total + Buffer.byteLength(event.json), 0);
}
