import type { RequestGate } from './execute-chunk.ts';

/**
 * At most `concurrency` requests in flight and at most `ratePerSecond` started per second: starts
 * are spaced 1/rate apart with no credit for idle time, so neither the first second nor a resumed
 * campaign bursts past the provider's limit.
 */
export function createRequestGate({ concurrency, ratePerSecond }: { concurrency: number; ratePerSecond?: number | null }): RequestGate {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a whole number >= 1, got ${concurrency}`);
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const interval = ratePerSecond ? 1000 / ratePerSecond : 0;
  let nextStart = 0;

  const release = () => {
    inFlight--;
    const next = waiting.shift();
    if (next) {
      inFlight++;
      next();
    }
  };
  const slot = () =>
    new Promise<void>((resolve) => {
      if (inFlight < concurrency) {
        inFlight++;
        resolve();
      } else waiting.push(resolve);
    });

  return async () => {
    await slot();
    if (interval) {
      const now = performance.now();
      nextStart = Math.max(nextStart, now);
      const wait = nextStart - now;
      nextStart += interval;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  };
}
