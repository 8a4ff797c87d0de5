/**
 * Where retrial's bytes for one run go: event JSON by kind (and, for model events, by top-level
 * field), and blobs grouped by what they hold. Printed with the stored-bytes figures so a missed
 * target points straight at the part to shrink.
 */
import Database from 'better-sqlite3';
import type { Store } from '../../src/store/index.ts';
import { decodeBlobText } from '../../src/tape/index.ts';

export interface ByteGroup {
  count: number;
  /** Canonical JSON bytes, before any compression the store applies. */
  raw: number;
}

export interface StoreBreakdown {
  eventsByKind: Record<string, ByteGroup>;
  /** Model events only: bytes of each top-level field's JSON, summed over the run. */
  modelEventFields: Record<string, number>;
  blobsByContent: Record<string, ByteGroup>;
}

function add(groups: Record<string, ByteGroup>, key: string, raw: number): void {
  const group = groups[key] ?? { count: 0, raw: 0 };
  group.count++;
  group.raw += raw;
  groups[key] = group;
}

/** A coarse label for a blob's content, from its decoded JSON. */
function classify(value: unknown): string {
  if (typeof value === 'string') {
    if (value.startsWith('{"role":"system"')) return 'wire message text: system';
    if (value.startsWith('{"role"')) return 'wire message text: other';
    if (value.startsWith('{"id":"chatcmpl')) return 'wire response text';
    return 'other string';
  }
  if (Array.isArray(value)) {
    const first = value[0] as Record<string, unknown> | undefined;
    if (first && 'function' in first) return 'tool definitions';
    if (first && 't' in first && 'data' in first) return 'stream chunks';
    return 'other array';
  }
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (object.kind === 'json-template') return 'wire request template (body text minus messages)';
    if (object.kind === 'message-list') return 'message list (refs, chained by prefix)';
    if (typeof object.role === 'string') return `canonical message: ${object.role}`;
    return `object {${Object.keys(object).slice(0, 4).join(',')}}`;
  }
  return typeof value;
}

/**
 * Reads the run back through the Store API only (events, and the blobs of its export bundle), so
 * it keeps working whatever layout the SQLite store uses underneath (per-blob deflate, packs...).
 * Sizes here are raw JSON; the stored (compressed) totals come from store.stats().
 */
export async function storeBreakdown(store: Store, runId: string): Promise<StoreBreakdown> {
  const eventsByKind: Record<string, ByteGroup> = {};
  const modelEventFields: Record<string, number> = {};
  for (const event of await store.getEvents(runId)) {
    add(eventsByKind, event.kind, Buffer.byteLength(event.json));
    if (event.kind !== 'model') continue;
    for (const [field, value] of Object.entries(JSON.parse(event.json) as Record<string, unknown>)) {
      modelEventFields[field] = (modelEventFields[field] ?? 0) + Buffer.byteLength(JSON.stringify(value));
    }
  }
  const blobsByContent: Record<string, ByteGroup> = {};
  for (const blob of (await store.getRunBundle(runId)).blobs) {
    const text = decodeBlobText(blob);
    add(blobsByContent, classify(JSON.parse(text)), Buffer.byteLength(text));
  }
  return { eventsByKind, modelEventFields, blobsByContent };
}

/**
 * Bytes per table and index of a SQLite file, from the `dbstat` virtual table (better-sqlite3
 * is built with it): where the on-disk size goes beyond the content bytes (page slack, hash
 * columns, indexes). Schema-agnostic, so it survives store layout changes.
 */
export function pagesByTable(path: string): Record<string, { bytes: number; unused: number }> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT name, SUM(pgsize) AS bytes, SUM(unused) AS unused FROM dbstat GROUP BY name').all() as Array<{
      name: string;
      bytes: number;
      unused: number;
    }>;
    return Object.fromEntries(rows.map((row) => [row.name, { bytes: row.bytes, unused: row.unused }]));
  } finally {
    db.close();
  }
}
