/**
 * Blob texts by hash, shared by every tape this process loads. Blobs are content-addressed and
 * never change, and runs of one agent share most of them (system prompt, tool schemas, request
 * templates), so a replay of many runs reads each from the store once. Texts, not parsed values:
 * every load parses its own copy, so a caller that mutates what it got cannot corrupt the cache.
 *
 * Bounded by characters. Eviction is second-chance: a hit only marks the entry, and the oldest
 * entry goes unless it was hit since it was last looked at, in which case it moves to the back.
 * That keeps what many runs share, like an LRU, without reordering the map on every hit.
 */
const MAX_CHARACTERS = 64 * 1024 * 1024;
const texts = new Map<string, { text: string; hit: boolean }>();
let characters = 0;

export function cachedBlobText(hash: string): string | undefined {
  const entry = texts.get(hash);
  if (entry === undefined) return undefined;
  entry.hit = true;
  return entry.text;
}

export function rememberBlobText(hash: string, text: string): void {
  if (texts.has(hash) || text.length > MAX_CHARACTERS / 16) return;
  texts.set(hash, { text, hit: false });
  characters += text.length;
  while (characters > MAX_CHARACTERS) {
    const [oldest, entry] = texts.entries().next().value as [string, { text: string; hit: boolean }];
    texts.delete(oldest);
    if (entry.hit) {
      entry.hit = false;
      texts.set(oldest, entry);
    } else characters -= entry.text.length;
  }
}

/** Empties the cache (benchmarks measure passes that start cold). */
export function forgetBlobTexts(): void {
  texts.clear();
  characters = 0;
}
