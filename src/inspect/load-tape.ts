import type { Store } from '../store/index.ts';
import {
  blobRefsOfEvent,
  collectBlobClosure,
  decodeBlobText,
  EVENT_SCHEMA_REVISION,
  type InputEvent,
  parseEvent,
  type RetrievalEvent,
  type RunRecord,
  renderWireBody,
  resolveMessageList,
  type StoredBlob,
  servedBlobRefsOfEvent,
  sha256Hex,
  type TapeEvent,
  TapeFormatError,
  type ToolEvent,
  type WireBody,
  wireBodyMatches,
} from '../tape/index.ts';
import { cachedBlobValue, rememberBlob } from './blob-cache.ts';

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
  /** Expands a message list ref into the message refs, in order. */
  messageRefs(listRef: string): string[];
  /** The exact request text of a model event's wire body. */
  wireRequestText(wireBodyRef: string): string;
  /** Whether `text` is exactly that request text (cheaper than building it to compare). */
  wireRequestMatches(wireBodyRef: string, text: string): boolean;
  /**
   * What the agent received at an input, tool or retrieval event, as a fresh copy in the key order
   * it was received in (null for a call that threw).
   */
  received(event: InputEvent | ToolEvent | RetrievalEvent): unknown;
  /** Reads these blobs and what they point at, when the tape was loaded with only the served ones. */
  loadBlobs(refs: readonly string[]): Promise<void>;
}

export interface LoadTapeOptions {
  /**
   * `all` (default) reads every blob the events and the run's output reach. `served` reads only
   * what a replay serves to the agent and compares byte for byte (see servedBlobRefsOfEvent); the
   * rest, the output included, is read with `loadBlobs` when a divergence has to be described.
   */
  blobs?: 'all' | 'served';
}

/**
 * Fetches and decodes blobs for collectBlobClosure, through the process-wide blob cache. `owner`
 * names what the blobs belong to in the error about a damaged one.
 */
export function blobFetcher(
  store: Store,
  owner: string,
  storedWithRun: ReadonlyMap<string, StoredBlob> = new Map(),
): (refs: string[]) => Promise<Map<string, unknown>> {
  const decode = (hash: string, blob: StoredBlob, remember: boolean) => {
    const text = decodeBlobText(blob);
    // Only text that hashes to its address is remembered: a damaged blob is never cached.
    if (sha256Hex(text) !== hash)
      throw new TapeFormatError({ message: `blob ${hash.slice(0, 12)}… of ${owner} is damaged; run \`npx retrial verify\` to see what else is` });
    const value: unknown = JSON.parse(text);
    if (remember) rememberBlob(hash, text, value);
    return value;
  };
  return async (refs) => {
    const decoded = new Map<string, unknown>();
    const missing: string[] = [];
    for (const ref of refs) {
      const cached = cachedBlobValue(ref);
      const withRun = cached === undefined ? storedWithRun.get(ref) : undefined;
      if (cached !== undefined) decoded.set(ref, cached.value);
      // A blob packed with this run was new when the run was stored: mostly its own answers and
      // results, seldom read by another run. Caching them would keep every run's blobs alive
      // past the young generation and slow every scavenge; blobs other runs' packs hold (the
      // shared ones) are cached.
      else if (withRun !== undefined) decoded.set(ref, decode(ref, withRun, false));
      else missing.push(ref);
    }
    if (missing.length) for (const [hash, blob] of await store.getBlobs(missing)) decoded.set(hash, decode(hash, blob, true));
    return decoded;
  };
}

/**
 * The exact request texts of model events, by wire body ref, read for many runs at once (one
 * blob query per level of the closure, however many runs). A ref the store lacks is left out.
 */
export async function readWireRequestTexts(store: Store, wireBodyRefs: readonly string[]): Promise<Map<string, string>> {
  const { values } = await collectBlobClosure(wireBodyRefs, blobFetcher(store, 'a wire request'));
  const blob = <T>(ref: string): T => {
    if (!values.has(ref)) throw new TapeFormatError({ message: `blob ${ref.slice(0, 12)}… is not in the store; run \`npx retrial verify\`` });
    return values.get(ref) as T;
  };
  const texts = new Map<string, string>();
  for (const ref of wireBodyRefs) {
    if (!values.has(ref) || texts.has(ref)) continue;
    texts.set(
      ref,
      renderWireBody(
        blob<WireBody>(ref),
        (part) => blob<string>(part),
        (listRef) => resolveMessageList(listRef, blob),
      ),
    );
  }
  return texts;
}

/** Reads a run, validates each event, and prefetches every blob reachable from its events. */
export async function loadTape(store: Store, runId: string, options: LoadTapeOptions = {}): Promise<LoadedTape> {
  const { run, eventTexts, blobs: storedWithRun, eventsValidUnder } = await store.getTape(runId);
  // Events the store validated under this very schema revision are not validated again.
  const validated = eventsValidUnder === EVENT_SCHEMA_REVISION;
  const events: TapeEvent[] = [];
  let skippedUnknown = 0;
  for (const [seq, json] of eventTexts.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new TapeFormatError({
        message: `run ${run.header.runId} event ${seq} is damaged (not valid JSON); run \`npx retrial verify\` to see what else is`,
      });
    }
    if (validated) {
      events.push(value as TapeEvent);
      continue;
    }
    const parsed = parseEvent(value);
    if (!parsed.ok) throw new TapeFormatError({ message: `run ${run.header.runId} event ${seq}: ${parsed.message}` });
    if (parsed.event) events.push(parsed.event);
    else skippedUnknown++;
  }
  const roots = events.flatMap(options.blobs === 'served' ? servedBlobRefsOfEvent : blobRefsOfEvent);
  if (run.ending?.output && options.blobs !== 'served') roots.push(run.ending.output);
  const fetchBlobs = blobFetcher(store, `run ${run.header.runId}`, storedWithRun);
  const { values, missing } = await collectBlobClosure(roots, fetchBlobs);
  const modelsServed = [...new Set(events.flatMap((event) => (event.kind === 'model' && event.response?.model.served ? [event.response.model.served] : [])))];

  const blob = <T>(ref: string): T => {
    if (values.has(ref)) return values.get(ref) as T;
    if (options.blobs === 'served' && !missing.has(ref)) throw new TypeError(`blob ${ref.slice(0, 12)}… was not loaded: call loadBlobs first`);
    throw new TapeFormatError({
      message: `run ${run.header.runId} references blob ${ref.slice(0, 12)}… which is not in the store; run \`npx retrial verify\``,
    });
  };
  const messageRefs = (listRef: string) => resolveMessageList(listRef, blob);
  return {
    run,
    events,
    skippedUnknown,
    modelsServed,
    blob,
    messageRefs,
    wireRequestText: (ref) => renderWireBody(blob<WireBody>(ref), (part) => blob<string>(part), messageRefs),
    wireRequestMatches: (ref, text) => wireBodyMatches(blob<WireBody>(ref), text, (part) => blob<string>(part), messageRefs),
    async loadBlobs(refs) {
      const wanted = refs.filter((ref) => !values.has(ref));
      if (!wanted.length) return;
      const more = await collectBlobClosure(wanted, fetchBlobs);
      for (const [ref, value] of more.values) values.set(ref, value);
      for (const ref of more.missing) missing.add(ref);
    },
    received(event) {
      const [ref, text] = event.kind === 'input' ? [event.value, event.valueText] : [event.result, event.resultText];
      if (text) return JSON.parse(blob<string>(text));
      return ref === null ? null : structuredClone(blob(ref));
    },
  };
}
