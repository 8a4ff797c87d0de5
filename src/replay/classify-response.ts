import { type CanonicalModelResponse, canonicalJson } from '../tape/index.ts';

export const NO_TOOL = '(no tool)';

/**
 * `--classify-by tools`: classify by every tool one answer chose (parallel tool calls), in name
 * order, so `lookup_order + refund` is one class whichever call the model wrote first. Not a path:
 * the canonical response has no `tools` field.
 */
export const CLASSIFY_BY_TOOLS = 'tools';

/** Reads `content[0].input.days`-style paths; returns undefined where the path leads nowhere. */
export function readPath(value: unknown, path: string): unknown {
  const steps = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter(Boolean);
  let current: unknown = value;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/**
 * The class of one answer: the tool the model chose (the first tool call, or "(no tool)"); with
 * `tools` (CLASSIFY_BY_TOOLS), every tool it chose; or with a path, the value at that path of the
 * canonical response.
 */
export function classifyResponse(response: CanonicalModelResponse, path: string | null): string {
  if (path === CLASSIFY_BY_TOOLS) {
    // A tool called twice in one answer stays twice: two refunds are not one.
    const names = response.content.flatMap((part) => (part.type === 'tool-call' ? [part.toolName] : [])).sort();
    return names.length ? names.join(' + ') : NO_TOOL;
  }
  if (path === null) {
    const call = response.content.find((part) => part.type === 'tool-call');
    return call && call.type === 'tool-call' ? call.toolName : NO_TOOL;
  }
  const value = readPath(response, path);
  // Canonical JSON: a recorded response has sorted keys and a live one wire order; equal answers must be one class.
  return value === undefined ? '(missing)' : typeof value === 'string' ? value : canonicalJson(value);
}
