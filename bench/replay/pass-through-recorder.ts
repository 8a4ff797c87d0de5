/**
 * A Recorder that records nothing: the agent's code runs exactly as it would without retrial.
 *
 * Why it exists: the "live" and "Polly" arms of the replay benchmark must run the same agent
 * module (`supportAgent.create({ rec, ... })`) without paying for recording. Using
 * `createRecorder` with a throwaway memory store would still build events, hash blobs and capture
 * call sites, so it would measure recording, not plain execution. Here `fetch` goes straight to
 * the network (or to whatever intercepts it), tools and retrievals are the functions themselves,
 * and config/decide/note are no-ops. It only counts calls, so the report can say what a live run
 * actually did (the live model may answer differently from the recorded one).
 */
import type { DecisionInput, Recorder } from '../../src/record/index.ts';

export interface CallCounts {
  fetches: number;
  tools: number;
  retrievals: number;
  decisions: number;
}

export interface PassThroughRecorder extends Recorder {
  readonly counts: CallCounts;
}

/**
 * `fetch` defaults to one that resolves `globalThis.fetch` at call time, so an interceptor that
 * replaces the global later (Polly's fetch adapter) still sees the calls. Pass Node's own fetch
 * to bypass any global patch.
 */
export function createPassThroughRecorder(options: { fetch?: typeof fetch } = {}): PassThroughRecorder {
  const counts: CallCounts = { fetches: 0, tools: 0, retrievals: 0, decisions: 0 };
  const base: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const countedFetch: typeof fetch = (input, init) => {
    counts.fetches++;
    return base(input, init);
  };
  return {
    counts,
    fetch: countedFetch,
    run: async <I, O>(input: I, fn: (input: I) => Promise<O> | O) => fn(input),
    tool:
      <A extends unknown[], R>(_name: string, fn: (...args: A) => R | Promise<R>) =>
      async (...args: A): Promise<Awaited<R>> => {
        counts.tools++;
        return await fn(...args);
      },
    retrieval:
      <A extends unknown[], R>(_name: string, fn: (...args: A) => R | Promise<R>) =>
      async (...args: A): Promise<Awaited<R>> => {
        counts.retrievals++;
        return await fn(...args);
      },
    config: () => {},
    decide: (_decision: DecisionInput) => {
      counts.decisions++;
    },
    note: () => {},
    random: () => Math.random,
    currentRunId: () => undefined,
    flush: async () => {},
  };
}
