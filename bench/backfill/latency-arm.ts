/**
 * The latency arm: the whole engine pipeline with every model answer 200 ms late, at concurrency 32.
 *
 * The wrapper waits with setTimeout, then answers from the in-process simulator, so the model's
 * own time is known exactly and the figure is about the engine: does the request gate keep 32
 * requests in flight, and do chunk boundaries, SQLite writes and parsing leave it idle? The ideal
 * is concurrency / latency = 32 / 0.2 s = 160 requests/s. The campaign is a sample of 320
 * decisions with no noise floor, so 320 requests, about 2 s at the ideal rate.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../src/store/index.ts';
import { ms } from '../record/percentiles.ts';
import { type EnginePass, enginePass, runResultsPerSecond } from './engine-arm.ts';

export const LATENCY_MS = 200;
export const LATENCY_CONCURRENCY = 32;
export const LATENCY_SAMPLE = 320;
export const IDEAL_REQUESTS_PER_SECOND = LATENCY_CONCURRENCY / (LATENCY_MS / 1000);

export function delayedFetch(inner: typeof fetch, delayMs: number): typeof fetch {
  return async (input, init) => {
    await sleep(delayMs);
    return inner(input, init);
  };
}

export async function latencyPass(store: Store, window: { since: number; until: number }, seed: string): Promise<EnginePass> {
  const pass = await enginePass(
    {
      store,
      window,
      seed,
      concurrency: LATENCY_CONCURRENCY,
      sample: LATENCY_SAMPLE,
      noiseFloor: 0,
      wrapFetch: (fetch) => delayedFetch(fetch, LATENCY_MS),
    },
    runResultsPerSecond,
  );
  pass.line = `${pass.results} requests in ${ms(pass.runMs)} ms (plan ${ms(pass.planMs)} ms) -> ${pass.headline.toFixed(1)} requests/s of the ideal ${IDEAL_REQUESTS_PER_SECOND}/s = ${(pass.headline / IDEAL_REQUESTS_PER_SECOND).toFixed(3)}; CPU ${ms(pass.runCpuMs / Math.max(1, pass.results))} ms per request`;
  return pass;
}
