import * as crypto from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/**
 * Node's one-shot `crypto.hash` (20.12 and later) skips the Hash object, which for the short texts
 * a replay hashes by the dozen costs about as much as the hashing itself.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

/** Lowercase hex sha256 of a string (as UTF-8) or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/** The content address of a JSON value: sha256 of its canonical JSON. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isSha256Hex(value: string): boolean {
  return HEX64.test(value);
}
