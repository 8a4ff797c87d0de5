/**
 * The floor runs the agent's zero-delay timers the way a replay does (src/replay/zero-delay-timers.ts).
 *
 * Why: the openai SDK starts every `chat.completions.stream()` with `setTimeout(fn, 0)`, and Node
 * runs a 0 ms timeout after at least 1 ms. A replay runs such timers as `setImmediate`, since it
 * serves everything at once; a floor that waited those milliseconds would not be the floor of a
 * replay. The replay's own patch acts only inside a replay scope, hence this one, for the floor's
 * pass only. Timers with a real delay keep the real `setTimeout`; `clearTimeout` cancels either.
 */

/** Runs `fn` with `setTimeout(cb, 0 or no delay)` served by `setImmediate`; restores the globals after. */
export async function withZeroDelayTimersAsImmediate<T>(fn: () => Promise<T>): Promise<T> {
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  const immediates = new WeakSet<object>();
  const patchedSetTimeout = (callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    if (delay !== undefined && delay > 0) return realSetTimeout(callback, delay, ...args);
    const immediate = setImmediate(callback, ...args);
    immediates.add(immediate);
    return immediate;
  };
  const patchedClearTimeout = (handle: unknown) => {
    if (handle && typeof handle === 'object' && immediates.has(handle)) clearImmediate(handle as NodeJS.Immediate);
    else realClearTimeout(handle as NodeJS.Timeout);
  };
  globalThis.setTimeout = patchedSetTimeout as unknown as typeof setTimeout;
  globalThis.clearTimeout = patchedClearTimeout as typeof clearTimeout;
  try {
    return await fn();
  } finally {
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  }
}
