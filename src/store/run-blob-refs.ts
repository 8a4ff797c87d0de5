import { blobRefsInside, blobRefsOfEvent, decodeBlob, parseEvent, type RunRecord, type StoredBlob } from '../tape/index.ts';
import { StoreError } from './errors.ts';
import type { StoredEvent } from './store.ts';

/**
 * Every blob a run needs to be self-contained, in order of first reference: what its events point
 * at, everything reachable from those (message lists, wire bodies' lifted messages and system
 * prompt), and its output. `readBlob` is synchronous so a backend can collect inside one read transaction.
 *
 * A referenced blob the store does not hold is left out rather than failing the export:
 * `verify` is the place that reports a damaged run, and it can only do so if the run can be read.
 */
export function collectRunBlobRefs(run: RunRecord, events: readonly StoredEvent[], readBlob: (hash: string) => StoredBlob | undefined): string[] {
  const refs = new Set<string>();
  for (const stored of events) {
    const parsed = parseEvent(parseEventJson(run.header.runId, stored));
    if (!parsed.ok)
      throw new StoreError({
        message: `Run ${run.header.runId} event ${stored.seq} is not a valid event (${parsed.message}); run \`npx retrial verify\` on it.`,
      });
    // An event kind this version does not know still travels, but its refs cannot be followed.
    if (parsed.event === undefined) continue;
    for (const ref of blobRefsOfEvent(parsed.event)) refs.add(ref);
  }
  if (run.ending?.output) refs.add(run.ending.output);
  // Follow refs inside blobs; a Set iterates entries added during the loop too.
  for (const ref of refs) {
    const blob = readBlob(ref);
    if (blob === undefined) continue;
    let value: unknown;
    try {
      value = decodeBlob(blob);
    } catch {
      continue;
    }
    for (const inner of blobRefsInside(value)) refs.add(inner);
  }
  return [...refs];
}

function parseEventJson(runId: string, stored: StoredEvent): unknown {
  try {
    return JSON.parse(stored.json);
  } catch (error) {
    throw new StoreError({ message: `Run ${runId} event ${stored.seq} holds bytes that are not JSON; run \`npx retrial verify\` on it.`, cause: error });
  }
}
