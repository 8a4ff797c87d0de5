import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** Lowercase hex sha256 of a string (as UTF-8) or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The content address of a JSON value: sha256 of its canonical JSON. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

const HEX64 = /^[0-9a-f]{64}$/;
export function isSha256Hex(value: string): boolean {
  return HEX64.test(value);
}
