/**
 * Decoded blobs by hash, shared by every tape this process loads. Blobs are content-addressed and
 * never change, and runs of one agent share most of them (system prompt, tool schemas, request
 * templates), so a replay of many runs reads each from the store once.
 *
 * A blob whose value is a string (a message's exact wire text, a request template, a tool result
 * as the agent got it) is kept decoded: strings cannot be changed, and unescaping a long JSON
 * string is most of what reading it costs. Any other value is kept as its text and parsed again
 * by each load, so a caller that mutates what it got cannot corrupt the cache.
 *
 * Bounded by characters. Eviction is second-chance: a hit only marks the entry, and the oldest
 * entry goes unless it was hit since it was last looked at, in which case it moves to the back.
 * That keeps what many runs share, like an LRU, without reordering the map on every hit.
 */
const MAX_CHARACTERS = 64 * 1024 * 1024;

interface Entry {
  /** The decoded string, or the JSON text of any other value. */
  kept: string;
  isString: boolean;
  hit: boolean;
}
const entries = new Map<string, Entry>();
let characters = 0;

/** The blob's decoded value, or undefined when it is not cached. */
export function cachedBlobValue(hash: string): { value: unknown } | undefined {
  const entry = entries.get(hash);
  if (entry === undefined) return undefined;
  entry.hit = true;
  return { value: entry.isString ? entry.kept : JSON.parse(entry.kept) };
}

/** Remembers a blob read from the store (its verified JSON text and that text parsed). */
export function rememberBlob(hash: string, text: string, value: unknown): void {
  if (entries.has(hash) || text.length > MAX_CHARACTERS / 16) return;
  const isString = typeof value === 'string';
  const kept = isString ? value : text;
  entries.set(hash, { kept, isString, hit: false });
  characters += kept.length;
  while (characters > MAX_CHARACTERS) {
    const [oldest, entry] = entries.entries().next().value as [string, Entry];
    entries.delete(oldest);
    if (entry.hit) {
      entry.hit = false;
      entries.set(oldest, entry);
    } else characters -= entry.kept.length;
  }
}

/** Empties the cache (benchmarks measure passes that start cold). */
export function forgetCachedBlobs(): void {
  entries.clear();
  characters = 0;
}
