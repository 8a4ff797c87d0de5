import { maybeCurrentRun } from '../record/index.ts';

let installed = false;
/** The fetch the guard wraps: what retrial's own live calls (a fork's model endpoint) go through. */
let unguarded: typeof fetch = globalThis.fetch;

export function unguardedFetch(): typeof fetch {
  return unguarded;
}

/**
 * Replaces the global `fetch` with one that refuses requests made inside a replay. The replayed
 * agent's SDKs get the replayer's fetch (served from the tape); anything else that reaches the
 * network from inside the replay is unsanctioned and must fail, not go live.
 */
export function installEgressGuard(): void {
  if (installed) return;
  installed = true;
  const liveFetch = globalThis.fetch;
  unguarded = liveFetch;
  globalThis.fetch = function guardedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const scope = maybeCurrentRun();
    if (scope?.blockEgress) {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      try {
        return Promise.reject(scope.blockEgress(url));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return liveFetch(input, init);
  };
}
