/**
 * A what-if, not part of any arm: run a pass with zero-delay timers turned into `setImmediate`.
 *
 * Why: the openai SDK starts every `chat.completions.stream()` with `setTimeout(fn, 0)`
 * (EventStream._run in node_modules/openai/lib/EventStream.mjs), and Node runs a 0 ms timeout
 * after at least 1 ms. In a replay nothing else is pending, so the thread sits idle for each
 * streamed call: 3 per chat run. A replayer that serves the clock from the tape could run the
 * agent's timers on virtual time; this measures what that would buy, in the benchmark only
 * (src/ is not touched). Timers with a real delay (the SDK's 10-minute request timeout) keep the
 * real `setTimeout`; `clearTimeout` still cancels either kind.
 */

/** Runs `fn` with `setTimeout(cb, 0|1|undefined)` served by `setImmediate`; restores the globals after. */
export async function withZeroDelayTimersAsImmediate<T>(fn: () => Promise<T>): Promise<T> {
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  const immediates = new WeakSet<object>();
  const patchedSetTimeout = (callback: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    if (delay !== undefined && delay > 1) return realSetTimeout(callback, delay, ...args);
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
