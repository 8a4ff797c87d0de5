import { isMessageList } from './message-list.ts';
import type { WireBody } from './wire-body.ts';

/**
 * Refs held inside a blob's value. Most blobs are leaves; message lists point at their prefix
 * and messages, and json-template wire bodies at their template text, message list and system prompt.
 */
export function blobRefsInside(value: unknown): string[] {
  if (isMessageList(value)) return value.prefix === null ? [...value.messages] : [value.prefix, ...value.messages];
  if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'json-template') {
    const body = value as Extract<WireBody, { kind: 'json-template' }>;
    return [body.template, ...(body.messages === null ? [] : [body.messages]), ...(body.system === null ? [] : [body.system])];
  }
  return [];
}

/**
 * Every ref reachable from `roots`, fetching level by level. `fetch` returns the decoded values
 * it found; refs it cannot find are reported in `missing` instead of failing, so callers decide.
 */
export async function collectBlobClosure(
  roots: Iterable<string>,
  fetch: (refs: string[]) => Promise<Map<string, unknown>>,
): Promise<{ values: Map<string, unknown>; missing: Set<string> }> {
  const values = new Map<string, unknown>();
  const missing = new Set<string>();
  let frontier = [...new Set(roots)];
  while (frontier.length) {
    const found = await fetch(frontier);
    const next = new Set<string>();
    for (const ref of frontier) {
      if (!found.has(ref)) {
        missing.add(ref);
        continue;
      }
      const value = found.get(ref);
      values.set(ref, value);
      for (const inner of blobRefsInside(value)) if (!values.has(inner) && !missing.has(inner)) next.add(inner);
    }
    frontier = [...next].filter((ref) => !values.has(ref));
  }
  return { values, missing };
}
