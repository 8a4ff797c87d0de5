import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import { canonicalJson, chainNext, decodeBlobText, EVENT_SCHEMA_REVISION, parseEvent, type RunEnding, type StoredBlob, sha256Hex } from '../../tape/index.ts';
import type { StoredEvent } from '../store.ts';
import { hashBytes } from '../stored-rows.ts';
import type { PgClientLike, PgPoolLike } from './postgres-database.ts';
import { hexOf } from './postgres-rows.ts';

/**
 * Compression in PostgreSQL, as in SQLite (sqlite-packing.ts): while a run records, each flush
 * writes plain rows (a crash loses nothing); once its ending has committed, the store deflates the
 * run's events and the unpacked blobs they reach into one row of `run_packs`, then, in a short
 * transaction, deletes the run's event rows and points the blobs' rows into the pack. Replay then
 * reads a finished run as one row and one inflation (getTape: one round trip). The pack starts with
 * an index line holding what the event rows held (length, kind, causal key, clock, hash), so
 * getEvents needs no rows either. Only bytes that hash along the chain, or to their address, are
 * moved; a run whose events do not check out stays in its rows for verify to report.
 *
 * Runs of one agent repeat field names, tools and prompts, so as in SQLite a pack is deflated
 * with a keyframe (a recent pack of this process, deflated alone) as its preset dictionary, and a
 * keyframe serves KEYFRAME_USES packs: reading a pack needs at most one other, fetched in the same
 * round trip (a join on `dictionary_run_id`). Blobs beyond the run pack's size budget stay in
 * their rows, where TOAST compresses the large ones.
 */

const KIND = 1;
const KEY = 2;
const AT = 3;
const HASH = 4;
const NEWLINE = 0x0a;
const deflateRawAsync = promisify(deflateRaw);

/** The index line a run's pack starts with; event i is seq i. */
interface PostgresPackIndex {
  events: Array<[length: number, kind: string, key: string, at: number, hash: string]>;
  blobs: Array<[hash: string, length: number]>;
  /** As in SQLite's packs: every event passed the schemas of `revision`, over bytes with this sha256. */
  valid?: { revision: number; sha256: string };
}

/** How large a run's pack may grow, and the largest blob packed (bigger ones stay in their rows). */
export interface PostgresPackLimits {
  runPackBytes: number;
  maxPackedBlobBytes: number;
}
export const DEFAULT_PACK_LIMITS: PostgresPackLimits = { runPackBytes: 8 * 1024 * 1024, maxPackedBlobBytes: 1024 * 1024 };

/** What packing a run will write. */
export interface PostgresPackPlan {
  runId: string;
  raw: Buffer;
  blobs: Array<{ hash: string; offset: number; length: number }>;
}

const HASH_STRING = /"([0-9a-f]{64})"/g;
function hashStringsIn(text: string, into: Set<string>, skip: ReadonlySet<string>): void {
  for (const match of text.matchAll(HASH_STRING)) if (!skip.has(match[1] as string)) into.add(match[1] as string);
}

function allEventsValid(texts: readonly string[]): boolean {
  for (const text of texts) {
    try {
      const parsed = parseEvent(JSON.parse(text));
      if (!parsed.ok || parsed.event === undefined || canonicalJson(parsed.event) !== text) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** A run's event rows in seq order (an unpacked run, or one whose pack failed its checks). */
export async function readEventRows(queryable: Pick<PgPoolLike, 'query'>, runId: string): Promise<StoredEvent[]> {
  const result = await queryable.query('SELECT seq, kind, causal_key, at, json, hash FROM events WHERE run_id = $1 ORDER BY seq', [runId]);
  return result.rows.map((row) => ({
    seq: row.seq as number,
    kind: row.kind as string,
    key: row.causal_key as string,
    at: row.at as number,
    json: row.json as string,
    hash: hexOf(row.hash as Buffer),
  }));
}

/**
 * Reads what packing `runId` would write; null when there is nothing to pack (no such run, packed
 * already, no events) or its events do not hash along its chain. What the run reaches is found by
 * text, as SQLite does: any 64-hex JSON string naming an unpacked blob.
 */
export async function planRunPack(
  queryable: Pick<PgPoolLike, 'query'>,
  runId: string,
  limits: PostgresPackLimits = DEFAULT_PACK_LIMITS,
): Promise<PostgresPackPlan | null> {
  const runResult = await queryable.query('SELECT root_hash, ending_json, packed FROM runs WHERE run_id = $1', [runId]);
  const run = runResult.rows[0] as { root_hash: string; ending_json: string | null; packed: boolean } | undefined;
  if (run === undefined || run.packed) return null;
  const events = await readEventRows(queryable, runId);
  if (events.length === 0) return null;
  let previous = run.root_hash;
  for (const event of events) {
    previous = chainNext(previous, event.json);
    if (previous !== event.hash) return null;
  }
  const seen = new Set<string>();
  const output = run.ending_json === null ? null : (JSON.parse(run.ending_json) as RunEnding).output;
  let frontier = new Set<string>(output ? [output] : []);
  for (const event of events) hashStringsIn(event.json, frontier, seen);
  const blobs: Array<{ hash: string; bytes: Buffer }> = [];
  while (frontier.size) {
    for (const hash of frontier) seen.add(hash);
    const rows = await queryable.query(
      'SELECT hash, encoding, data FROM blobs WHERE pack_run_id IS NULL AND size <= $1 AND hash = ANY($2::bytea[]) ORDER BY hash',
      [limits.maxPackedBlobBytes, [...frontier].map((hash) => Buffer.from(hash, 'hex'))],
    );
    frontier = new Set();
    for (const row of rows.rows) {
      const hash = hexOf(row.hash as Buffer);
      let text: string;
      try {
        text = decodeBlobText({ encoding: row.encoding as StoredBlob['encoding'], data: row.data as Buffer });
      } catch {
        continue;
      }
      if (sha256Hex(text) !== hash) continue;
      blobs.push({ hash, bytes: Buffer.from(text, 'utf8') });
      hashStringsIn(text, frontier, seen);
    }
  }
  const eventBytes = events.map((event) => Buffer.from(event.json, 'utf8'));
  let size = eventBytes.reduce((total, bytes) => total + bytes.length, 0);
  const packed: typeof blobs = [];
  for (const blob of blobs) {
    if (size + blob.bytes.length > limits.runPackBytes) continue;
    packed.push(blob);
    size += blob.bytes.length;
  }
  const index: PostgresPackIndex = {
    events: events.map((event, position) => [(eventBytes[position] as Buffer).length, event.kind, event.key, event.at, event.hash]),
    blobs: packed.map((blob) => [blob.hash, blob.bytes.length]),
    ...(allEventsValid(events.map((event) => event.json)) ? { valid: { revision: EVENT_SCHEMA_REVISION, sha256: sha256Hex(Buffer.concat(eventBytes)) } } : {}),
  };
  const head = Buffer.from(`${JSON.stringify(index)}\n`, 'utf8');
  let offset = head.length + size - packed.reduce((total, blob) => total + blob.bytes.length, 0);
  const placed = packed.map((blob) => {
    const at = offset;
    offset += blob.bytes.length;
    return { hash: blob.hash, offset: at, length: blob.bytes.length };
  });
  return { runId, raw: Buffer.concat([head, ...eventBytes, ...packed.map((blob) => blob.bytes)]), blobs: placed };
}

const KEYFRAME_USES = 32;
const KEYFRAME_MAX_BYTES = 256 * 1024;
/** Deflate's window: only the last 32 KB of a dictionary can be referenced. */
const DICTIONARY_BYTES = 32 * 1024;

/** A pack deflated alone whose raw tail later packs of this process are deflated against. */
export interface PostgresKeyframe {
  runId: string;
  /** The last DICTIONARY_BYTES of the keyframe's raw bytes. */
  dictionary: Buffer;
  uses: number;
}

/** What storeRunPack writes: the deflated bytes and the keyframe they were deflated against. */
export interface DeflatedPostgresPack {
  data: Buffer;
  keyframe: PostgresKeyframe | null;
}

/** Deflates a plan on the thread pool, against `keyframe` when it has uses left. */
export async function deflateRunPack(plan: PostgresPackPlan, keyframe: PostgresKeyframe | null): Promise<DeflatedPostgresPack> {
  const usable = keyframe !== null && keyframe.uses < KEYFRAME_USES ? keyframe : null;
  if (usable) usable.uses++;
  const data = await deflateRawAsync(plan.raw, usable ? { level: 6, dictionary: usable.dictionary } : { level: 6 });
  return { data, keyframe: usable };
}

/** The keyframe a pack just stored alone becomes (null when it was deflated against one, or is too large). */
export function keyframeOf(plan: PostgresPackPlan, deflated: DeflatedPostgresPack): PostgresKeyframe | null {
  if (deflated.keyframe !== null || plan.raw.length > KEYFRAME_MAX_BYTES) return null;
  return { runId: plan.runId, dictionary: Buffer.from(plan.raw.subarray(-DICTIONARY_BYTES)), uses: 0 };
}

/**
 * Writes the pack, points the blobs' rows into it and deletes the run's event rows; call inside
 * one transaction. Lock order is the run's row, then blob rows in hash order, as in a write
 * (runs, then blobs), so packing and recording never wait on each other in a cycle. Returns
 * false, writing nothing, when the run was packed meanwhile; a blob packed meanwhile by another
 * run keeps its row (the copy here is the same checked bytes).
 */
export async function storeRunPack(client: PgClientLike, plan: PostgresPackPlan, deflated: DeflatedPostgresPack): Promise<boolean> {
  const current = await client.query('SELECT packed FROM runs WHERE run_id = $1 FOR UPDATE', [plan.runId]);
  if (current.rows[0] === undefined || current.rows[0].packed === true) return false;
  await client.query("INSERT INTO run_packs (run_id, encoding, size, data, dictionary_run_id) VALUES ($1, 'deflate', $2, $3, $4)", [
    plan.runId,
    plan.raw.length,
    deflated.data,
    deflated.keyframe?.runId ?? null,
  ]);
  if (plan.blobs.length) {
    const sorted = [...plan.blobs].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    const hashes = sorted.map((blob) => Buffer.from(blob.hash, 'hex'));
    await client.query('SELECT 1 FROM blobs WHERE hash = ANY($1::bytea[]) AND pack_run_id IS NULL ORDER BY hash FOR UPDATE', [hashes]);
    await client.query(
      `UPDATE blobs b SET encoding = 'pack', size = p.length, data = '\\x'::bytea, pack_run_id = $1, pack_offset = p.at_offset
         FROM unnest($2::bytea[], $3::integer[], $4::integer[]) AS p(hash, at_offset, length)
        WHERE b.hash = p.hash AND b.pack_run_id IS NULL`,
      [plan.runId, hashes, sorted.map((blob) => blob.offset), sorted.map((blob) => blob.length)],
    );
  }
  await client.query('DELETE FROM events WHERE run_id = $1', [plan.runId]);
  await client.query('UPDATE runs SET packed = true WHERE run_id = $1', [plan.runId]);
  return true;
}

/** A run's pack, read: its events (texts and row fields) and the blobs stored with it. */
export interface ReadRunPack {
  events: StoredEvent[];
  blobs: Map<string, StoredBlob>;
  eventsValidUnder?: number;
}

const isLength = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Parses an inflated pack; undefined when its index does not fit it or the run. */
export function parseRunPack(pack: Buffer, eventCount: number): ReadRunPack | undefined {
  const end = pack.indexOf(NEWLINE);
  if (end < 0) return undefined;
  let index: PostgresPackIndex;
  try {
    index = JSON.parse(pack.toString('utf8', 0, end)) as PostgresPackIndex;
  } catch {
    return undefined;
  }
  if (typeof index !== 'object' || index === null || !Array.isArray(index.events) || !Array.isArray(index.blobs)) return undefined;
  if (index.events.length !== eventCount) return undefined;
  let offset = end + 1;
  const events: StoredEvent[] = [];
  for (const [seq, entry] of index.events.entries()) {
    if (!Array.isArray(entry) || !isLength(entry[0]) || typeof entry[KIND] !== 'string' || typeof entry[KEY] !== 'string' || typeof entry[AT] !== 'number')
      return undefined;
    if (typeof entry[HASH] !== 'string') return undefined;
    events.push({ seq, kind: entry[KIND], key: entry[KEY], at: entry[AT], json: pack.toString('utf8', offset, offset + entry[0]), hash: entry[HASH] });
    offset += entry[0];
  }
  const valid = index.valid;
  const eventsValidUnder =
    typeof valid === 'object' && valid !== null && Number.isSafeInteger(valid.revision) && valid.sha256 === sha256Hex(pack.subarray(end + 1, offset))
      ? valid.revision
      : undefined;
  const blobs = new Map<string, StoredBlob>();
  for (const entry of index.blobs) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || !/^[0-9a-f]{64}$/.test(entry[0]) || !isLength(entry[1])) return undefined;
    blobs.set(entry[0], { hash: entry[0], encoding: 'json', size: entry[1], data: pack.subarray(offset, offset + entry[1]) });
    offset += entry[1];
  }
  if (offset !== pack.length) return undefined;
  return eventsValidUnder === undefined ? { events, blobs } : { events, blobs, eventsValidUnder };
}

/** A pack row as read with its keyframe's row (joined on dictionary_run_id). */
export interface PackRow {
  runId: string;
  data: Buffer | null;
  dictionaryRunId: string | null;
  /** The keyframe's deflated bytes (itself deflated alone), or null. */
  keyframe: Buffer | null;
}

/** SQL columns for PackRow, on `p` (the pack) joined to `k` (its keyframe). */
export const PACK_COLUMNS = 'p.run_id AS pack_run_id, p.data AS pack, p.dictionary_run_id, k.data AS keyframe';
export const PACK_JOIN = 'LEFT JOIN run_packs k ON k.run_id = p.dictionary_run_id';

export function packRowOf(row: Record<string, unknown>): PackRow {
  return {
    runId: row.pack_run_id as string,
    data: row.pack as Buffer | null,
    dictionaryRunId: row.dictionary_run_id as string | null,
    keyframe: row.keyframe as Buffer | null,
  };
}

/** Inflates a pack (its keyframe first, from the cache when there); an Error when its bytes do not inflate. */
export function inflatePack(row: PackRow, cache: PackCache): Buffer | Error {
  if (row.data === null) return new Error('pack is missing');
  try {
    if (row.dictionaryRunId === null) return inflateRawSync(row.data);
    let keyframe = cache.get(row.dictionaryRunId);
    if (keyframe === undefined) {
      keyframe = row.keyframe === null ? new Error(`its keyframe ${row.dictionaryRunId} is missing`) : inflateRawSync(row.keyframe);
      cache.set(row.dictionaryRunId, keyframe);
    }
    if (keyframe instanceof Error) return keyframe;
    return inflateRawSync(row.data, { dictionary: keyframe.subarray(-DICTIONARY_BYTES) });
  } catch (error) {
    return error as Error;
  }
}

/**
 * Events of a run whose pack cannot be read: their texts say so, and hash along no chain, so
 * verify reports the run instead of the store hiding it.
 */
export function unreadablePackEvents(runId: string, eventCount: number, reason: string): StoredEvent[] {
  return Array.from({ length: eventCount }, (_, seq) => ({
    seq,
    kind: 'unknown',
    key: '',
    at: 0,
    json: `<unreadable pack of run ${runId}: ${reason}>`,
    hash: '',
  }));
}

/** Inflated packs by run id for blob reads, least recently used first, within a byte budget. */
export class PackCache {
  private readonly packs = new Map<string, Buffer | Error>();
  private bytes = 0;
  constructor(private readonly budget = 64 * 1024 * 1024) {}
  get(runId: string): Buffer | Error | undefined {
    const value = this.packs.get(runId);
    if (value !== undefined) {
      this.packs.delete(runId);
      this.packs.set(runId, value);
    }
    return value;
  }
  set(runId: string, value: Buffer | Error): void {
    if (this.packs.has(runId)) return;
    this.packs.set(runId, value);
    this.bytes += value instanceof Error ? 64 : value.length;
    for (const [oldestId, oldest] of this.packs) {
      if (this.bytes <= this.budget) break;
      this.packs.delete(oldestId);
      this.bytes -= oldest instanceof Error ? 64 : oldest.length;
    }
  }
}

/** Reads blobs by hash in at most two round trips (the rows, then the packs not cached). */
export async function readBlobsPacked(queryable: Pick<PgPoolLike, 'query'>, cache: PackCache, hashes: readonly string[]): Promise<Map<string, StoredBlob>> {
  const found = new Map<string, StoredBlob>();
  const wanted = [...new Set(hashes)].filter((hash) => /^[0-9a-f]{64}$/.test(hash));
  if (wanted.length === 0) return found;
  const result = await queryable.query(
    'SELECT hash, encoding, size, CASE WHEN pack_run_id IS NULL THEN data END AS data, pack_run_id, pack_offset FROM blobs WHERE hash = ANY($1::bytea[])',
    [wanted.map((hash) => Buffer.from(hash, 'hex'))],
  );
  const missing = [
    ...new Set(result.rows.flatMap((row) => (row.pack_run_id === null || cache.get(row.pack_run_id as string) ? [] : [row.pack_run_id as string]))),
  ];
  if (missing.length) {
    const packs = await queryable.query(`SELECT ${PACK_COLUMNS} FROM run_packs p ${PACK_JOIN} WHERE p.run_id = ANY($1::text[])`, [missing]);
    for (const row of packs.rows.map(packRowOf)) cache.set(row.runId, inflatePack(row, cache));
    for (const runId of missing) if (!cache.get(runId)) cache.set(runId, new Error('pack is missing'));
  }
  for (const row of result.rows) {
    const hash = hexOf(row.hash as Buffer);
    const packRunId = row.pack_run_id as string | null;
    if (packRunId === null) {
      found.set(hash, {
        hash,
        encoding: row.encoding as StoredBlob['encoding'],
        size: row.size as number,
        data: (row.data as Buffer | null) ?? Buffer.alloc(0),
      });
      continue;
    }
    const pack = cache.get(packRunId) as Buffer | Error;
    const offset = (row.pack_offset as number | null) ?? 0;
    const size = row.size as number;
    const data = pack instanceof Error ? Buffer.from(`<unreadable pack of run ${packRunId}: ${pack.message}>`) : pack.subarray(offset, offset + size);
    found.set(hash, { hash, encoding: 'json', size, data });
  }
  return found;
}

export { hashBytes };
