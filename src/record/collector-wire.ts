import type { IncompleteMark, StoredEvent, WriteBatch } from '../store/index.ts';
import type { StoredBlob } from '../tape/index.ts';

/**
 * What a recorder sends a collector (`retrial server`), and what it answers. The server validates
 * every request against its own schema (src/server/collector-schema.ts); these types are the
 * shapes both sides agree on.
 */

/** Where batches are posted, under the collector's base URL. */
export const COLLECTOR_BATCHES_PATH = '/v1/batches';

/** A blob on the wire: its canonical JSON as text, or its deflated bytes in base64. */
export type WireBlob = { hash: string; encoding: 'json'; text: string } | { hash: string; encoding: 'json+deflate'; size: number; base64: string };

/** A recorder's write batch as JSON: the same parts, with blob bytes made text. */
export interface WireWriteBatch {
  runsStarted: WriteBatch['runsStarted'];
  appends: Array<{ runId: string; events: StoredEvent[]; headHash: string }>;
  blobs: WireBlob[];
  decisions: WriteBatch['decisions'];
  runsEnded: WriteBatch['runsEnded'];
}

/**
 * One unit the collector applies atomically: a write batch (appends carry their seqs, so one sent
 * again is recognised), or a run to mark `incomplete` because its recording stopped early.
 */
export type CollectorItem = { type: 'write'; batch: WireWriteBatch } | { type: 'mark'; mark: IncompleteMark };

/** The body of POST /v1/batches: items applied in order. */
export interface CollectorRequest {
  items: CollectorItem[];
}

/** 200: every item is in the store (some may have been there already). */
export interface CollectorAccepted {
  accepted: number;
}

/**
 * A 4xx or 5xx answer. `acceptedItems`: items before the failing one that are in the store. `runs`:
 * the runs of the failing item the collector refused (a chain that does not continue the run's head,
 * an ending that does not seal it); the item's other runs were not written and may be sent again.
 */
export interface CollectorErrorBody {
  error: { code: string; message: string; issues?: string[] };
  acceptedItems?: number;
  runs?: Array<{ runId: string; message: string }>;
}

export function toWireBlob(blob: StoredBlob): WireBlob {
  const bytes = Buffer.from(blob.data.buffer, blob.data.byteOffset, blob.data.byteLength);
  return blob.encoding === 'json'
    ? { hash: blob.hash, encoding: 'json', text: bytes.toString('utf8') }
    : { hash: blob.hash, encoding: blob.encoding, size: blob.size, base64: bytes.toString('base64') };
}

export function toWireBatch(batch: WriteBatch): WireWriteBatch {
  return { ...batch, blobs: batch.blobs.map(toWireBlob) };
}
