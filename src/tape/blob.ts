import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './hash.ts';

/** A reference to a blob: the lowercase hex sha256 of the blob's canonical JSON. */
export type BlobRef = string;

/**
 * How a blob's bytes are stored. `json` is the canonical JSON as UTF-8; `json+deflate` is the
 * same bytes through raw DEFLATE. The hash is always over the canonical JSON, never the stored
 * bytes, so a blob can be re-encoded without changing its address.
 */
export type BlobEncoding = 'json' | 'json+deflate';

export interface StoredBlob {
  hash: BlobRef;
  encoding: BlobEncoding;
  /** Length in bytes of the canonical JSON (before compression). */
  size: number;
  data: Uint8Array;
}

/** Below this size deflate rarely pays for its header and CPU. */
const COMPRESS_FROM_BYTES = 200;

/** Canonicalizes a value and returns its address and canonical text (no compression yet). */
export function createBlob(value: unknown): { hash: BlobRef; json: string } {
  const json = canonicalJson(value);
  return { hash: sha256Hex(json), json };
}

/** Canonical JSON as an uncompressed stored blob; the store decides how to compress it. */
export function plainBlob(hash: BlobRef, json: string): StoredBlob {
  const data = Buffer.from(json, 'utf8');
  return { hash, encoding: 'json', size: data.length, data };
}

/** Encodes canonical JSON for storage, compressing when that saves space. */
export function encodeBlob(hash: BlobRef, json: string): StoredBlob {
  const raw = Buffer.from(json, 'utf8');
  if (raw.length >= COMPRESS_FROM_BYTES) {
    const packed = deflateRawSync(raw, { level: 6 });
    if (packed.length < raw.length * 0.9) return { hash, encoding: 'json+deflate', size: raw.length, data: packed };
  }
  return { hash, encoding: 'json', size: raw.length, data: raw };
}

/** Returns the canonical JSON text of a stored blob. Throws on corrupt compressed data. */
export function decodeBlobText(blob: Pick<StoredBlob, 'encoding' | 'data'>): string {
  const bytes = blob.encoding === 'json+deflate' ? inflateRawSync(blob.data) : blob.data;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

export function decodeBlob<T = unknown>(blob: Pick<StoredBlob, 'encoding' | 'data'>): T {
  return JSON.parse(decodeBlobText(blob)) as T;
}

/** Checks a stored blob decodes and that its content hashes to its address. */
export function verifyBlob(blob: StoredBlob): { ok: true } | { ok: false; reason: string } {
  let text: string;
  try {
    text = decodeBlobText(blob);
  } catch (error) {
    return { ok: false, reason: `cannot decode ${blob.encoding} data: ${(error as Error).message}` };
  }
  const actual = sha256Hex(text);
  if (actual !== blob.hash) return { ok: false, reason: `content hashes to ${actual.slice(0, 12)}…, not ${blob.hash.slice(0, 12)}…` };
  return { ok: true };
}
