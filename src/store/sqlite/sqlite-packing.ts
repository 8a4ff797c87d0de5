import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import { canonicalJson, chainNext, decodeBlobText, EVENT_SCHEMA_REVISION, parseEvent, type RunEnding, type StoredBlob, sha256Hex } from '../../tape/index.ts';
import type { StoredEvent } from '../store.ts';
import { type LargeBlobPlans, readChunkSet } from './sqlite-blob-chunks.ts';
import type { StatementSource } from './sqlite-database.ts';
import { asBuffer, HEX64, hashBytes } from './sqlite-rows.ts';

/**
 * Compression inside the SQLite file. Events and blobs are small (one call, one chat message, one
 * tool result), so deflating each alone finds little to remove. While a run records, each flush
 * writes its rows as they are, uncompressed: a crash loses nothing, and nothing is compressed twice.
 * Once the run's ending has committed, the store packs the run in the background: it deflates the
 * run's events and the unpacked blobs it reaches as one pack on the thread pool, then in a short
 * transaction of its own points their rows into it (pack id, offset, length). There an event compresses against
 * the response body it summarises, a message against its canonical form. The pack starts with an
 * index line (event lengths, blob hashes and lengths), so replay reads a finished run as one row
 * and one inflation (readRunPack). A very large run's blobs overflow into further packs
 * (RunPackLimits). The chain hash is over the JSON text, never these bytes.
 *
 * Packing only moves bytes that check out: a run whose event texts do not hash along its chain
 * (a damaged older pack) is left in its rows for `retrial verify` to report, and a blob that does
 * not hash to its address stays where it is. A run that is never packed (a crash between the
 * ending and its pack, a failed pack) reads from its rows as before.
 *
 * Runs of one agent repeat field names, tool definitions and prompts, so a run's pack is deflated
 * with a keyframe (a recent pack deflated alone) as its preset dictionary, and a keyframe serves
 * the next KEYFRAME_USES packs: reading a pack needs at most one other. Stores written before
 * 2026-11-26 packed each flush, chained to the previous flush's pack; readPack still follows those
 * chains.
 */

const KEYFRAME_USES = 32;
const KEYFRAME_MAX_BYTES = 256 * 1024;
/** Deflate's window: only the last 32 KB of a dictionary can be referenced. */
const DICTIONARY_BYTES = 32 * 1024;
const NEWLINE = 0x0a;
const deflateRawAsync = promisify(deflateRaw);

interface Keyframe {
  packId: number;
  /** The last DICTIONARY_BYTES of the keyframe's raw bytes (all deflate can use). */
  dictionary: Buffer;
  /** Packs deflated against it so far. */
  uses: number;
}
interface KeyframeState {
  committed: Keyframe | null;
  /** Written inside the open transaction; becomes `committed` only when it commits. */
  pending: Keyframe | null;
}
const keyframes = new WeakMap<StatementSource, KeyframeState>();

function keyframeState(statement: StatementSource): KeyframeState {
  let state = keyframes.get(statement);
  if (!state) {
    state = { committed: null, pending: null };
    keyframes.set(statement, state);
  }
  return state;
}

/** Call after the pack's transaction committed (`committed`) or rolled back. */
export function settleRunPacks(statement: StatementSource, committed: boolean): void {
  const state = keyframeState(statement);
  if (committed && state.pending) state.committed = state.pending;
  state.pending = null;
}

/** The index line a run's pack starts with; event i is seq i. */
interface RunPackIndex {
  events: number[];
  blobs: Array<[hash: string, length: number]>;
  /**
   * Present when every event passed the schemas of `revision` when packed. `sha256` covers the
   * events' bytes: a pack has no checksum of its own, and the note must not vouch for bytes
   * damaged since.
   */
  valid?: { revision: number; sha256: string };
}

/**
 * True when every event text is a valid event of a kind this code knows, and validating gives
 * back exactly the event (canonical JSON of what the schema returned is the text): only then may
 * a loader take the parsed JSON in place of validating it.
 */
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

/** Rows as a flush writes them: as given, unpacked until their run is packed. */
export function insertEventRow(statement: StatementSource, runId: string, event: StoredEvent): void {
  statement(
    'INSERT INTO events (run_id, seq, kind, causal_key, at, json, hash, pack_id, pack_offset, pack_length) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)',
  ).run(runId, event.seq, event.kind, event.key, event.at, event.json, hashBytes(event.hash));
}

/**
 * Inserts the blobs not yet stored. A large one (`large`) was written ahead as a chunk set
 * (sqlite-blob-chunks.ts): its row points at the set, which stops being an orphan in this same
 * transaction; one found already stored is skipped without binding its bytes.
 */
export function insertBlobRows(statement: StatementSource, blobs: readonly StoredBlob[], large: LargeBlobPlans = new Map()): void {
  const insert = statement('INSERT OR IGNORE INTO blobs (hash, encoding, size, data, pack_id, pack_offset) VALUES (?, ?, ?, ?, NULL, NULL)');
  const insertChunked = statement(
    "INSERT OR IGNORE INTO blobs (hash, encoding, size, data, pack_id, pack_offset, chunk_set) VALUES (?, ?, ?, x'', NULL, NULL, ?)",
  );
  const adopt = statement('DELETE FROM blob_chunk_sets WHERE chunk_set = ?');
  for (const blob of blobs) {
    const plan = large.get(blob.hash);
    if (plan === undefined) insert.run(hashBytes(blob.hash), blob.encoding, blob.size, asBuffer(blob.data));
    else if (plan.kind === 'chunked' && insertChunked.run(hashBytes(blob.hash), plan.blob.encoding, plan.blob.size, plan.chunkSet).changes > 0)
      adopt.run(plan.chunkSet);
  }
}

/** Blob refs appear in events and blobs as JSON strings of 64 hex digits. */
const HASH_STRING = /"([0-9a-f]{64})"/g;

function hashStringsIn(text: string, into: Set<string>, skip: ReadonlySet<string>): void {
  for (const match of text.matchAll(HASH_STRING)) if (!skip.has(match[1] as string)) into.add(match[1] as string);
}

/** One pack of a plan: its raw bytes and where each item lands in them. */
interface PlannedPack {
  raw: Buffer;
  events: Array<{ seq: number; offset: number; length: number }>;
  blobs: Array<{ hash: string; offset: number; length: number }>;
}

/** What packing a run will write: the run's pack (with the index), then any overflow packs. */
export interface RunPackPlan {
  runId: string;
  packs: [PlannedPack, ...PlannedPack[]];
}

/**
 * How big a run's pack may grow. Reading any item of a pack inflates all of it, so a run's pack
 * holds all its events and the blobs that still fit in `runPackBytes` (a run whose events alone
 * are larger gets them all the same); the other blobs go in overflow packs of up to
 * `overflowBytes`, which replay reads through the rows like any other pack.
 */
export interface RunPackLimits {
  runPackBytes: number;
  overflowBytes: number;
  /**
   * A blob larger than this stays in its row, unpacked (default 1 MB, from where the recorder
   * builds a value in slices): reading, checking and moving 50 MB at once held the event loop for
   * seconds, and a pack of one such blob would gain nothing.
   */
  maxPackedBlobBytes?: number;
}
const DEFAULT_MAX_PACKED_BLOB_BYTES = 1024 * 1024;
export const DEFAULT_RUN_PACK_LIMITS: RunPackLimits = {
  runPackBytes: 8 * 1024 * 1024,
  overflowBytes: 4 * 1024 * 1024,
  maxPackedBlobBytes: DEFAULT_MAX_PACKED_BLOB_BYTES,
};

/**
 * Reads what packing `runId` would move; null when there is nothing to pack (no such run, already
 * packed, no events) or its events do not check out. Call inside one read transaction.
 *
 * What the run reaches is found by text, not by parsing: any 64-hex JSON string in an event or an
 * unpacked blob that names an unpacked blob. A string that only looks like a ref (a tool argument
 * holding a sha256) can at worst move some other unpacked blob into this pack, where it stays
 * addressable; parsing every event and blob to find refs instead cost 1.5 ms per demo run. Packed
 * blobs are not followed: what they reach was packed with them. The events are parsed once, to note
 * in the index that they are valid (allEventsValid).
 */
export function planRunPack(statement: StatementSource, runId: string, limits: RunPackLimits = DEFAULT_RUN_PACK_LIMITS): RunPackPlan | null {
  const run = statement('SELECT root_hash, ending_json, run_pack_id FROM runs WHERE run_id = ?').get(runId) as
    | { root_hash: string; ending_json: string | null; run_pack_id: number | null }
    | undefined;
  if (run === undefined || run.run_pack_id !== null) return null;
  const events = readEventRows(statement, runId);
  if (events.length === 0) return null;
  // Only bytes that hash along the chain are moved: a damaged older pack must not be copied over.
  let previous = run.root_hash;
  for (const event of events) {
    previous = chainNext(previous, event.json);
    if (previous !== event.hash) return null;
  }
  const seen = new Set<string>();
  const output = run.ending_json === null ? null : (JSON.parse(run.ending_json) as RunEnding).output;
  let frontier = new Set<string>(output ? [output] : []);
  for (const event of events) hashStringsIn(event.json, frontier, seen);
  const readUnpacked = statement(
    'SELECT lower(hex(hash)) AS hash, encoding, data FROM blobs WHERE pack_id IS NULL AND chunk_set IS NULL AND size <= ? AND hash IN (SELECT unhex(value) FROM json_each(?))',
  );
  const blobs: Array<{ hash: string; bytes: Buffer }> = [];
  while (frontier.size) {
    for (const hash of frontier) seen.add(hash);
    const rows = readUnpacked.all(limits.maxPackedBlobBytes ?? DEFAULT_MAX_PACKED_BLOB_BYTES, JSON.stringify([...frontier])) as Array<{
      hash: string;
      encoding: StoredBlob['encoding'];
      data: Buffer;
    }>;
    frontier = new Set();
    for (const row of rows) {
      let text: string;
      try {
        text = decodeBlobText(row);
      } catch {
        continue;
      }
      // A blob that does not hash to its address stays in its row, where verify reports it.
      if (sha256Hex(text) !== row.hash) continue;
      blobs.push({ hash: row.hash, bytes: Buffer.from(text, 'utf8') });
      hashStringsIn(text, frontier, seen);
    }
  }
  const eventBytes = events.map((event) => Buffer.from(event.json, 'utf8'));
  let size = eventBytes.reduce((total, bytes) => total + bytes.length, 0);
  const packed: typeof blobs = [];
  const beyond: typeof blobs = [];
  for (const blob of blobs) {
    if (size + blob.bytes.length <= limits.runPackBytes) {
      packed.push(blob);
      size += blob.bytes.length;
    } else beyond.push(blob);
  }
  const index: RunPackIndex = {
    events: eventBytes.map((bytes) => bytes.length),
    blobs: packed.map((blob) => [blob.hash, blob.bytes.length]),
    // Validated once here, after the run has returned (about 0.1-0.2 ms per demo run, off the
    // agent's path), so that every load of it need not.
    ...(allEventsValid(events.map((event) => event.json)) ? { valid: { revision: EVENT_SCHEMA_REVISION, sha256: sha256Hex(Buffer.concat(eventBytes)) } } : {}),
  };
  const runPack = layOut(
    Buffer.from(`${JSON.stringify(index)}\n`, 'utf8'),
    events.map((event, position) => ({ seq: event.seq, bytes: eventBytes[position] as Buffer })),
    packed,
  );
  const overflow: PlannedPack[] = [];
  let chunk: typeof blobs = [];
  let chunkBytes = 0;
  for (const blob of beyond) {
    if (chunk.length && chunkBytes + blob.bytes.length > limits.overflowBytes) {
      overflow.push(layOut(Buffer.alloc(0), [], chunk));
      chunk = [];
      chunkBytes = 0;
    }
    chunk.push(blob);
    chunkBytes += blob.bytes.length;
  }
  if (chunk.length) overflow.push(layOut(Buffer.alloc(0), [], chunk));
  return { runId, packs: [runPack, ...overflow] };
}

function layOut(head: Buffer, events: Array<{ seq: number; bytes: Buffer }>, blobs: Array<{ hash: string; bytes: Buffer }>): PlannedPack {
  let offset = head.length;
  const place = (length: number) => {
    const at = offset;
    offset += length;
    return { offset: at, length };
  };
  return {
    raw: Buffer.concat([head, ...events.map((event) => event.bytes), ...blobs.map((blob) => blob.bytes)]),
    events: events.map((event) => ({ seq: event.seq, ...place(event.bytes.length) })),
    blobs: blobs.map((blob) => ({ hash: blob.hash, ...place(blob.bytes.length) })),
  };
}

/** What deflateRunPack hands storeRunPack: each pack's bytes and the keyframe they used. */
export interface DeflatedRunPack {
  data: Buffer[];
  keyframe: Keyframe | null;
}

/** Deflates a plan's packs on the thread pool, against the committed keyframe where it has uses left. */
export async function deflateRunPack(statement: StatementSource, plan: RunPackPlan): Promise<DeflatedRunPack> {
  const base = keyframeState(statement).committed;
  const keyframe = base !== null && base.uses < KEYFRAME_USES ? base : null;
  if (keyframe) keyframe.uses++;
  const options = keyframe ? { level: 6, dictionary: keyframe.dictionary } : { level: 6 };
  return { data: await Promise.all(plan.packs.map((pack) => deflateRawAsync(pack.raw, options))), keyframe };
}

/**
 * Writes the packs and points the run's rows into them; call inside one write transaction.
 * Returns false, writing nothing, when the run was packed meanwhile. A blob packed meanwhile by
 * another run keeps its row; its copy here is the same checked bytes.
 */
export function storeRunPack(statement: StatementSource, plan: RunPackPlan, deflated: DeflatedRunPack): boolean {
  const current = statement('SELECT run_pack_id FROM runs WHERE run_id = ?').get(plan.runId) as { run_pack_id: number | null } | undefined;
  if (current === undefined || current.run_pack_id !== null) return false;
  const insert = statement('INSERT INTO packs (encoding, size, data, dictionary_pack_id) VALUES (?, ?, ?, ?)');
  // Rows are deleted and inserted again rather than updated: a row shrunk in place leaves its
  // B-tree page mostly empty (in the demo, 85% of the blobs table's pages), while a delete lets
  // SQLite merge underfull pages.
  const takeEvent = statement('DELETE FROM events WHERE run_id = ? AND seq = ? RETURNING kind, causal_key, at, hash');
  const putEvent = statement(
    "INSERT INTO events (run_id, seq, kind, causal_key, at, json, hash, pack_id, pack_offset, pack_length) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
  );
  const takeBlob = statement('DELETE FROM blobs WHERE hash = ? AND pack_id IS NULL RETURNING hash');
  // The row's size is the bytes packed: a packed blob is read back by slicing that many.
  const putBlob = statement("INSERT INTO blobs (hash, encoding, size, data, pack_id, pack_offset) VALUES (?, 'pack', ?, x'', ?, ?)");
  const packIds = plan.packs.map((pack, position) => {
    const data = deflated.data[position] as Buffer;
    const packId = Number(insert.run('deflate', pack.raw.length, data, deflated.keyframe?.packId ?? null).lastInsertRowid);
    const events = pack.events.map((event) => ({
      event,
      row: takeEvent.get(plan.runId, event.seq) as { kind: string; causal_key: string; at: number; hash: Buffer },
    }));
    const blobs = pack.blobs.filter((blob) => takeBlob.get(hashBytes(blob.hash)) !== undefined);
    for (const { event, row } of events) putEvent.run(plan.runId, event.seq, row.kind, row.causal_key, row.at, row.hash, packId, event.offset, event.length);
    for (const blob of blobs) putBlob.run(hashBytes(blob.hash), blob.length, packId, blob.offset);
    return packId;
  });
  const runPackId = packIds[0] as number;
  // Reading a pack inflates its keyframe whole first, so a large pack never becomes one.
  if (deflated.keyframe === null && plan.packs[0].raw.length <= KEYFRAME_MAX_BYTES)
    keyframeState(statement).pending = { packId: runPackId, dictionary: Buffer.from(plan.packs[0].raw.subarray(-DICTIONARY_BYTES)), uses: 0 };
  statement('UPDATE runs SET run_pack_id = ? WHERE run_id = ?').run(runPackId, plan.runId);
  return true;
}

const isLength = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * A run's events and the blobs stored with them, from its pack alone; undefined when the pack is
 * unreadable or its index does not fit it or the run (the caller then reads the rows, which
 * report damage).
 */
export function readRunPack(
  statement: StatementSource,
  packId: number,
  eventCount: number,
): { eventTexts: string[]; blobs: Map<string, StoredBlob>; eventsValidUnder?: number } | undefined {
  const pack = readPack(statement, packId, { keep: false });
  if (pack instanceof Error) return undefined;
  const end = pack.indexOf(NEWLINE);
  if (end < 0) return undefined;
  let index: RunPackIndex;
  try {
    index = JSON.parse(pack.toString('utf8', 0, end)) as RunPackIndex;
  } catch {
    return undefined;
  }
  if (typeof index !== 'object' || index === null) return undefined;
  if (!Array.isArray(index.events) || !Array.isArray(index.blobs) || index.events.length !== eventCount || !index.events.every(isLength)) return undefined;
  if (!index.blobs.every((entry) => Array.isArray(entry) && typeof entry[0] === 'string' && HEX64.test(entry[0]) && isLength(entry[1]))) return undefined;
  let offset = end + 1;
  const eventTexts: string[] = [];
  for (const length of index.events) {
    eventTexts.push(pack.toString('utf8', offset, offset + length));
    offset += length;
  }
  const valid = index.valid;
  const eventsValidUnder =
    typeof valid === 'object' && valid !== null && Number.isSafeInteger(valid.revision) && valid.sha256 === sha256Hex(pack.subarray(end + 1, offset))
      ? valid.revision
      : undefined;
  const blobs = new Map<string, StoredBlob>();
  for (const [hash, length] of index.blobs) {
    // A view into the pack, not a copy: blob bytes are only ever read.
    blobs.set(hash, { hash, encoding: 'json', size: length, data: pack.subarray(offset, offset + length) });
    offset += length;
  }
  if (offset !== pack.length) return undefined;
  return eventsValidUnder === undefined ? { eventTexts, blobs } : { eventTexts, blobs, eventsValidUnder };
}

/**
 * Inflated packs by id, least recently used first. Reading a pack inflates its dictionary first
 * (a keyframe; in stores written before run packs, a chain of up to 15 flush packs), so a cache
 * too small for the working set re-inflates them again and again: a backfill reading 900 runs'
 * decision steps spent most of its time in zlib with 256 entries. The budget is in bytes, because
 * packs range from a few hundred bytes to many megabytes.
 */
const packCaches = new WeakMap<StatementSource, { packs: Map<number, Buffer | Error>; bytes: number }>();
const PACK_CACHE_BYTES = 64 * 1024 * 1024;
const cachedBytes = (value: Buffer | Error) => (value instanceof Error ? 64 : value.length);

/**
 * `keep: false` reads a pack without adding it to the cache: a run's own pack is read once per
 * load, and keeping each one only to evict it later made a replay loop's inflated packs outlive
 * the young generation and be collected as old objects.
 */
export function readPack(statement: StatementSource, packId: number, { keep = true }: { keep?: boolean } = {}): Buffer | Error {
  let cache = packCaches.get(statement);
  if (!cache) {
    cache = { packs: new Map(), bytes: 0 };
    packCaches.set(statement, cache);
  }
  const cached = cache.packs.get(packId);
  if (cached) {
    // Least recently used goes first: a dictionary chain's keyframe is read again and again.
    cache.packs.delete(packId);
    cache.packs.set(packId, cached);
    return cached;
  }
  const row = statement('SELECT data, dictionary_pack_id FROM packs WHERE pack_id = ?').get(packId) as
    | { data: Buffer; dictionary_pack_id: number | null }
    | undefined;
  let value: Buffer | Error;
  try {
    if (!row) value = new Error(`pack ${packId} is missing`);
    else if (row.dictionary_pack_id === null) value = inflateRawSync(row.data);
    else {
      const dictionary = readPack(statement, row.dictionary_pack_id);
      value = dictionary instanceof Error ? dictionary : inflateRawSync(row.data, { dictionary: dictionary.subarray(-DICTIONARY_BYTES) });
    }
  } catch (error) {
    value = error as Error;
  }
  if (!keep) return value;
  cache.packs.set(packId, value);
  cache.bytes += cachedBytes(value);
  for (const [oldestId, oldest] of cache.packs) {
    if (cache.bytes <= PACK_CACHE_BYTES) break;
    cache.packs.delete(oldestId);
    cache.bytes -= cachedBytes(oldest);
  }
  return value;
}

/** The text of a packed item; a damaged pack gives text that fails the chain or the blob hash. */
export function readPacked(statement: StatementSource, packId: number, offset: number, length: number): string {
  const pack = readPack(statement, packId);
  if (pack instanceof Error) return `<unreadable pack ${packId}: ${pack.message}>`;
  return pack.subarray(offset, offset + length).toString('utf8');
}

export interface BlobRow {
  hash: string;
  encoding: string;
  size: number;
  /** Null for a packed blob (its bytes are in the pack) and a chunked one (in its chunks). */
  data: Buffer | null;
  pack_id: number | null;
  pack_offset: number | null;
  chunk_set: number | null;
}

/** A chunked row's stored bytes come from `readChunks` (all at once unless the caller reads them in slices). */
export function storedBlobOfRow(
  statement: StatementSource,
  row: BlobRow,
  readChunks: (chunkSet: number) => Buffer = (set) => readChunkSet(statement, set),
): StoredBlob {
  if (row.chunk_set !== null) return { hash: row.hash, encoding: row.encoding as StoredBlob['encoding'], size: row.size, data: readChunks(row.chunk_set) };
  if (row.pack_id === null) return { hash: row.hash, encoding: row.encoding as StoredBlob['encoding'], size: row.size, data: row.data ?? Buffer.alloc(0) };
  // A view into the cached pack, not a copy: blob bytes are only ever read.
  const pack = readPack(statement, row.pack_id);
  const offset = row.pack_offset ?? 0;
  const data = pack instanceof Error ? Buffer.from(`<unreadable pack ${row.pack_id}: ${pack.message}>`) : pack.subarray(offset, offset + row.size);
  return { hash: row.hash, encoding: 'json', size: row.size, data };
}

/** The rows of blobs by hash (a packed or chunked row's data is not read: it is elsewhere). */
export function readBlobRows(statement: StatementSource, hashes: readonly string[]): BlobRow[] {
  return statement(
    // Packed and chunked rows keep an empty data column; not selecting it spares a Buffer per row.
    'SELECT lower(hex(hash)) AS hash, encoding, size, CASE WHEN pack_id IS NULL AND chunk_set IS NULL THEN data END AS data, pack_id, pack_offset, chunk_set FROM blobs WHERE hash IN (SELECT unhex(value) FROM json_each(?))',
  ).all(JSON.stringify(hashes)) as BlobRow[];
}

/** Reads blobs by hash, unpacking packed ones and joining chunked ones. */
export function readBlobsPacked(statement: StatementSource, hashes: readonly string[]): Map<string, StoredBlob> {
  return new Map(readBlobRows(statement, hashes).map((row) => [row.hash, storedBlobOfRow(statement, row)]));
}

/** A run's event rows in seq order, with packed texts read from their packs. */
export function readEventRows(statement: StatementSource, runId: string): StoredEvent[] {
  // StoredEvent's fields (`key` is `causal_key`: KEY is an SQL keyword). A packed event's json
  // column is empty, so it is not read: the text comes from the pack.
  const columns = "seq, kind, causal_key AS key, at, CASE WHEN pack_id IS NULL THEN json ELSE '' END AS json, lower(hex(hash)) AS hash";
  const rows = statement(`SELECT ${columns}, pack_id, pack_offset, pack_length FROM events WHERE run_id = ? ORDER BY seq`).all(runId) as Array<
    StoredEvent & { pack_id: number | null; pack_offset: number | null; pack_length: number | null }
  >;
  return rows.map((row) => ({
    seq: row.seq,
    kind: row.kind,
    key: row.key,
    at: row.at,
    json: row.pack_id === null ? row.json : readPacked(statement, row.pack_id, row.pack_offset ?? 0, row.pack_length ?? 0),
    hash: row.hash,
  }));
}
