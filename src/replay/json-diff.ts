import type { FieldDifference } from './divergence.ts';

/** Longest strings kept whole in a difference; longer ones are cut around the first change. */
const STRING_CONTEXT = 60;

function clipPair(expected: string, received: string): { expected: string; received: string } {
  if (expected.length <= STRING_CONTEXT * 2 && received.length <= STRING_CONTEXT * 2) return { expected, received };
  let at = 0;
  while (at < expected.length && at < received.length && expected[at] === received[at]) at++;
  const start = Math.max(0, at - STRING_CONTEXT / 2);
  const cut = (text: string) => `${start > 0 ? '…' : ''}${text.slice(start, at + STRING_CONTEXT)}${text.length > at + STRING_CONTEXT ? '…' : ''}`;
  return { expected: cut(expected), received: cut(received) };
}

/**
 * Field-level differences between two JSON values, depth first, at most `limit` of them. Long
 * strings are cut to the region around their first differing character.
 */
export function diffJson(expected: unknown, received: unknown, path = '', limit = 20): FieldDifference[] {
  const out: FieldDifference[] = [];
  walk(expected, received, path, out, limit);
  return out;
}

function walk(expected: unknown, received: unknown, path: string, out: FieldDifference[], limit: number): void {
  if (out.length >= limit) return;
  if (Object.is(expected, received)) return;
  if (typeof expected === 'string' && typeof received === 'string') {
    out.push({ path: path || '(root)', ...clipPair(expected, received) });
    return;
  }
  if (Array.isArray(expected) && Array.isArray(received)) {
    const length = Math.max(expected.length, received.length);
    for (let index = 0; index < length; index++) walk(expected[index], received[index], `${path}[${index}]`, out, limit);
    return;
  }
  if (isObject(expected) && isObject(received)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(received)])].sort();
    for (const key of keys) walk(expected[key], received[key], path ? `${path}.${key}` : key, out, limit);
    return;
  }
  out.push({ path: path || '(root)', expected: expected === undefined ? '(absent)' : expected, received: received === undefined ? '(absent)' : received });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
