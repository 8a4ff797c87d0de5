/**
 * Blob texts by hash, shared by every tape this process loads. Blobs are content-addressed and
 * never change, and runs of one agent share most of them (system prompt, tool schemas, request
 * templates), so a replay of many runs reads each from the store once. Texts, not parsed values:
 * every load parses its own copy, so a caller that mutates what it got cannot corrupt the cache.
 * Bounded by characters, least recently used first out.
 */
const MAX_CHARACTERS = 64 * 1024 * 1024;
const texts = new Map<string, string>();
let characters = 0;

export function cachedBlobText(hash: string): string | undefined {
  const text = texts.get(hash);
  if (text !== undefined) {
    texts.delete(hash);
    texts.set(hash, text);
  }
  return text;
}

export function rememberBlobText(hash: string, text: string): void {
  if (texts.has(hash) || text.length > MAX_CHARACTERS / 16) return;
  texts.set(hash, text);
  characters += text.length;
  while (characters > MAX_CHARACTERS) {
    const oldest = texts.keys().next().value as string;
    characters -= (texts.get(oldest) as string).length;
    texts.delete(oldest);
  }
}

/** Empties the cache (benchmarks measure passes that start cold). */
export function forgetBlobTexts(): void {
  texts.clear();
  characters = 0;
}
