import { type BlobRef, createBlob } from '../tape/index.ts';
import { jsonSnapshot } from './json-snapshot.ts';
import type { Redactor } from './redaction.ts';
import type { BlobCollector } from './run-tape-writer.ts';
import { canonicalHashInSlices, prepareCanonicalBlob, SLICED_FROM_BYTES } from './sliced-blob.ts';
import { snapshotValue, type ValueSnapshot } from './value-snapshot.ts';

/**
 * A tool's or retrieval's arguments as recorded: redacted, and their blob, whose ref is also the
 * call's requestHash. Each part is a value for small arguments and a promise for large ones.
 */
export interface TakenArguments {
  redacted(): unknown | Promise<unknown>;
  ref(blobs: BlobCollector): BlobRef | Promise<BlobRef>;
  hash(): string | Promise<string>;
}

/**
 * Small arguments are redacted at once. Large ones (1 MB of JSON or more) go the way of large
 * received values: the recorder's own snapshot is redacted in place, canonicalized, hashed and
 * deflated a few milliseconds at a time, starting now; the event's builder (or a serve hook that
 * needs the hash) waits for it. A 34 MB argument redacted and canonicalized in one piece held the
 * event loop 3.3 s.
 */
export function takeArguments(redactor: Redactor, snapshot: Extract<ValueSnapshot, { ok: true }>): TakenArguments {
  if (snapshot.bytes < SLICED_FROM_BYTES) {
    const redacted = redactor.value(snapshot.value);
    return { redacted: () => redacted, ref: (blobs) => blobs.put(redacted), hash: () => createBlob(redacted).hash };
  }
  const redacted = redactor.ownedValueInSlices(snapshot.value);
  const prepared = redacted.then(prepareCanonicalBlob);
  // Its failure is the event's, reported when the event is built.
  prepared.catch(() => {});
  return { redacted: () => redacted, ref: async (blobs) => blobs.putPrepared(await prepared), hash: async () => (await prepared).hash };
}

/** No bounds: replay checks whatever the recording accepted, under whatever limits it had. */
const REPLAY_LIMITS = { maxDepth: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY };

/**
 * Replayed arguments, redacted and hashed as the recorder took them, to compare with the tape's
 * requestHash: the same snapshot, redaction and canonical JSON, so the hash is the same, and large
 * arguments in slices, so a replay does not hold the event loop on them either. Arguments the
 * snapshot refuses (the recording refused them too) are taken as JSON.stringify sees them.
 */
export function replayedArguments(redactor: Redactor, args: unknown[]): { redacted: unknown; hash: string } | Promise<{ redacted: unknown; hash: string }> {
  const taken = snapshotValue(args, REPLAY_LIMITS);
  const settle = (snapshot: ValueSnapshot): { redacted: unknown; hash: string } | Promise<{ redacted: unknown; hash: string }> => {
    if (!snapshot.ok) {
      const redacted = redactor.value(jsonSnapshot(args));
      return { redacted, hash: createBlob(redacted).hash };
    }
    if (snapshot.bytes < SLICED_FROM_BYTES) {
      const redacted = redactor.value(snapshot.value);
      return { redacted, hash: createBlob(redacted).hash };
    }
    return redactor.ownedValueInSlices(snapshot.value).then(async (redacted) => ({ redacted, hash: await canonicalHashInSlices(redacted) }));
  };
  return taken instanceof Promise ? taken.then(settle) : settle(taken);
}
