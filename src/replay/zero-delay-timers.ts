import { maybeCurrentRun } from '../record/index.ts';

let installed = false;

/**
 * Inside a replay, `setTimeout(fn, 0)` runs as `setImmediate(fn)`. Node delays a zero timer by at
 * least a millisecond; a live call hides that behind network latency, but a replay serves
 * everything at once, and the openai SDK's stream helper starts with such a timer, so replays spent
 * a third of their time waiting on nothing. Order is kept: both run after the current turn, and
 * no replayed value depends on wall time. Only zero delays change, only in a replay scope.
 */
export function installZeroDelayTimers(): void {
  if (installed) return;
  installed = true;
  const originalSetTimeout = globalThis.setTimeout;
  const originalClearTimeout = globalThis.clearTimeout;
  const immediates = new WeakSet<object>();
  const patchedSetTimeout = ((handler: (...args: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    if ((delay === undefined || delay <= 0) && typeof handler === 'function' && maybeCurrentRun()?.blockEgress) {
      const immediate = setImmediate(handler, ...args);
      immediates.add(immediate);
      return immediate;
    }
    return originalSetTimeout(handler, delay, ...args);
  }) as typeof setTimeout;
  globalThis.setTimeout = Object.assign(patchedSetTimeout, originalSetTimeout);
  globalThis.clearTimeout = ((timer?: Parameters<typeof clearTimeout>[0]) => {
    if (timer && typeof timer === 'object' && immediates.has(timer)) clearImmediate(timer as unknown as NodeJS.Immediate);
    else originalClearTimeout(timer);
  }) as typeof clearTimeout;
}
