import type { Store } from '../store/index.ts';
import {
  blobRefsOfEvent,
  decodeBlob,
  parseEvent,
  type RunRecord,
  type TapeEvent,
  TapeFormatError,
  type WireBody,
  renderWireBody,
} from '../tape/index.ts';

/** A recorded run read back from a store, with its blobs at hand. */
export interface LoadedTape {
  run: RunRecord;
  /** Events of known kinds in seq order (unknown kinds from newer recorders are skipped). */
  events: TapeEvent[];
  /** Number of events of kinds this version does not know. */
  skippedUnknown: number;
  modelsServed: string[];
  /** Returns a blob's value; throws TapeFormatError when the store lacks it. */
  blob<T = unknown>(ref: string): T;
  /** The exact request text of a model event's wire body. */
  wireRequestText(wireBodyRef: string): string;
}

/** Reads a run, validates each event, and prefetches every blob its events reference. */
export async function loadTape(store: Store, runId: string): Promise<LoadedTape> {
  const run = await store.getRunOrThrow(runId);
  const stored = await store.getEvents(run.header.runId);
  const events: TapeEvent[] = [];
  let skippedUnknown = 0;
  for (const row of stored) {
    const parsed = parseEvent(JSON.parse(row.json));
    if (!parsed.ok) throw new TapeFormatError({ message: `run ${run.header.runId} event ${row.seq}: ${parsed.message}` });
    if (parsed.event) events.push(parsed.event);
    else skippedUnknown++;
  }
  const cache = new Map<string, unknown>();
  const fetchInto = async (refs: string[]) => {
    const missing = refs.filter((ref) => !cache.has(ref));
    if (!missing.length) return;
    const blobs = await store.getBlobs(missing);
    for (const [hash, blob] of blobs) cache.set(hash, decodeBlob(blob));
  };
  await fetchInto(events.flatMap(blobRefsOfEvent));
  // Wire bodies lift messages into blobs of their own: fetch those too.
  const wireRefs: string[] = [];
  for (const event of events) {
    if (event.kind !== 'model') continue;
    const body = cache.get(event.wire.requestBody) as WireBody | undefined;
    if (body?.kind === 'json-template') wireRefs.push(...(body.messages ?? []), ...(body.system ? [body.system] : []));
  }
  await fetchInto(wireRefs);
  const modelsServed = [...new Set(events.flatMap((event) => (event.kind === 'model' && event.response?.model.served ? [event.response.model.served] : [])))];

  const blob = <T,>(ref: string): T => {
    if (!cache.has(ref)) throw new TapeFormatError({ message: `run ${run.header.runId} references blob ${ref.slice(0, 12)}… which is not in the store; run \`retrial verify\`` });
    return cache.get(ref) as T;
  };
  return {
    run,
    events,
    skippedUnknown,
    modelsServed,
    blob,
    wireRequestText: (ref) => renderWireBody(blob<WireBody>(ref), (part) => blob<string>(part)),
  };
}
