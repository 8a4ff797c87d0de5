import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decodeBlobText, encodeBlob, type StoredBlob } from '../../tape/index.ts';
import { StoreError } from '../errors.ts';
import type { StoredEvent } from '../store.ts';
import type { StatementSource } from './sqlite-database.ts';
import { asBuffer } from './sqlite-rows.ts';

/**
 * Compression inside the SQLite file. Events and blobs are small (one call, one chat message, one
 * tool result), so deflating each alone finds little to remove. Everything one write batch adds
 * is instead concatenated and deflated as one pack, where an event and the response body it
 * summarises, or a message and its canonical form, compress against each other. Every event and
 * blob keeps its own row (pack id, offset, length), so each stays addressable; the chain hash is
 * over the JSON text, never these bytes. A batch of one item is stored on its own.
 *
 * A recorder flushes at every write tool and stream end, so packs can be small; each pack is
 * therefore deflated with the previous pack this store wrote as its preset dictionary (the same
 * field names, tool definitions and system prompts recur). Reading a pack needs its dictionary
 * pack first, so every KEYFRAME_EVERY-th pack starts afresh and no chain is longer than that.
 */
const PACK_FROM_ITEMS = 2;

const HEX64 = /^[0-9a-f]{64}$/;

/** Hashes are kept as their 32 bytes, half the size of the hex text, in rows and keys alike. */
export function hashBytes(hash: string): Buffer {
  if (!HEX64.test(hash)) throw new StoreError({ message: `"${hash.slice(0, 80)}" is not a sha256 hash (64 lowercase hex digits); the write was refused.` });
  return Buffer.from(hash, 'hex');
}
const KEYFRAME_EVERY = 16;
/** Deflate's window: only the last 32 KB of a dictionary can be referenced. */
const DICTIONARY_BYTES = 32 * 1024;

interface ChainState {
  last: { packId: number; raw: Buffer; depth: number } | null;
  /** Written inside the open transaction; becomes `last` only when it commits. */
  pending: { packId: number; raw: Buffer; depth: number } | null;
}
const chains = new WeakMap<StatementSource, ChainState>();

function chainOf(statement: StatementSource): ChainState {
  let chain = chains.get(statement);
  if (!chain) {
    chain = { last: null, pending: null };
    chains.set(statement, chain);
  }
  return chain;
}

/** Call after the write transaction committed (`committed`) or rolled back. */
export function settlePackChain(statement: StatementSource, committed: boolean): void {
  const chain = chainOf(statement);
  if (committed && chain.pending) chain.last = chain.pending;
  chain.pending = null;
}

export interface PackItem {
  text: string;
  /** Called with where the item landed: a pack and its place in it, or null when stored alone. */
  place(location: { packId: number; offset: number; length: number } | null): void;
}

/** Writes the items as one pack when there are enough of them; returns the pack id or null. */
export function writePack(statement: StatementSource, items: readonly PackItem[]): number | null {
  if (items.length < PACK_FROM_ITEMS) {
    for (const item of items) item.place(null);
    return null;
  }
  const parts = items.map((item) => Buffer.from(item.text, 'utf8'));
  const joined = Buffer.concat(parts);
  const chain = chainOf(statement);
  const base = chain.pending ?? chain.last;
  const useBase = base !== null && base.depth < KEYFRAME_EVERY;
  const data = useBase ? deflateRawSync(joined, { level: 6, dictionary: base.raw.subarray(-DICTIONARY_BYTES) }) : deflateRawSync(joined, { level: 6 });
  const { lastInsertRowid } = statement('INSERT INTO packs (encoding, size, data, dictionary_pack_id) VALUES (?, ?, ?, ?)').run(
    'deflate',
    joined.length,
    data,
    useBase ? base.packId : null,
  );
  const packId = Number(lastInsertRowid);
  chain.pending = { packId, raw: joined, depth: useBase ? base.depth + 1 : 0 };
  let offset = 0;
  items.forEach((item, index) => {
    const length = (parts[index] as Buffer).length;
    item.place({ packId, offset, length });
    offset += length;
  });
  return packId;
}

/** Blob rows to insert: only blobs the store does not hold yet, once each. */
export function freshBlobs(statement: StatementSource, blobs: readonly StoredBlob[]): StoredBlob[] {
  if (blobs.length === 0) return [];
  const hashes = JSON.stringify(blobs.map((blob) => blob.hash));
  const present = new Set(
    (statement('SELECT lower(hex(hash)) AS hash FROM blobs WHERE hash IN (SELECT unhex(value) FROM json_each(?))').all(hashes) as Array<{ hash: string }>).map(
      (row) => row.hash,
    ),
  );
  return [...new Map(blobs.filter((blob) => !present.has(blob.hash)).map((blob) => [blob.hash, blob])).values()];
}

export function blobPackItem(statement: StatementSource, blob: StoredBlob): PackItem {
  const insert = statement('INSERT OR IGNORE INTO blobs (hash, encoding, size, data, pack_id, pack_offset) VALUES (?, ?, ?, ?, ?, ?)');
  return {
    text: decodeBlobText(blob),
    place(location) {
      if (location) insert.run(hashBytes(blob.hash), 'pack', blob.size, Buffer.alloc(0), location.packId, location.offset);
      else {
        const alone = blob.encoding === 'json' ? encodeBlob(blob.hash, decodeBlobText(blob)) : blob;
        insert.run(hashBytes(alone.hash), alone.encoding, alone.size, asBuffer(alone.data), null, null);
      }
    },
  };
}

export function eventPackItem(statement: StatementSource, runId: string, event: StoredEvent): PackItem {
  const insert = statement(
    'INSERT INTO events (run_id, seq, kind, causal_key, at, json, hash, pack_id, pack_offset, pack_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return {
    text: event.json,
    place(location) {
      insert.run(
        runId,
        event.seq,
        event.kind,
        event.key,
        event.at,
        location ? '' : event.json,
        hashBytes(event.hash),
        location?.packId ?? null,
        location?.offset ?? null,
        location?.length ?? null,
      );
    },
  };
}

/**
 * Inflated packs by id, least recently used first. Reading a pack inflates its dictionary chain
 * (up to 15 packs back to the keyframe), so a cache too small for the working set re-inflates whole
 * chains: a backfill reading 900 runs' decision steps spent most of its time in zlib with 256
 * entries. The budget is in bytes, because packs range from a few hundred bytes to a few hundred KB.
 */
const packCaches = new WeakMap<StatementSource, { packs: Map<number, Buffer | Error>; bytes: number }>();
const PACK_CACHE_BYTES = 64 * 1024 * 1024;
const cachedBytes = (value: Buffer | Error) => (value instanceof Error ? 64 : value.length);

export function readPack(statement: StatementSource, packId: number): Buffer | Error {
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

interface BlobRow {
  hash: string;
  encoding: string;
  size: number;
  /** Null for a packed blob (its bytes are in the pack). */
  data: Buffer | null;
  pack_id: number | null;
  pack_offset: number | null;
}

/** Reads blobs by hash, unpacking packed ones. */
export function readBlobsPacked(statement: StatementSource, hashes: readonly string[]): Map<string, StoredBlob> {
  const rows = statement(
    // Packed rows keep an empty data column; not selecting it spares a Buffer per row.
    'SELECT lower(hex(hash)) AS hash, encoding, size, CASE WHEN pack_id IS NULL THEN data END AS data, pack_id, pack_offset FROM blobs WHERE hash IN (SELECT unhex(value) FROM json_each(?))',
  ).all(JSON.stringify(hashes)) as BlobRow[];
  const found = new Map<string, StoredBlob>();
  for (const row of rows) {
    if (row.pack_id === null)
      found.set(row.hash, { hash: row.hash, encoding: row.encoding as StoredBlob['encoding'], size: row.size, data: row.data ?? Buffer.alloc(0) });
    else {
      // A view into the cached pack, not a copy: blob bytes are only ever read.
      const pack = readPack(statement, row.pack_id);
      const offset = row.pack_offset ?? 0;
      const data = pack instanceof Error ? Buffer.from(`<unreadable pack ${row.pack_id}: ${pack.message}>`) : pack.subarray(offset, offset + row.size);
      found.set(row.hash, { hash: row.hash, encoding: 'json', size: row.size, data });
    }
  }
  return found;
}
