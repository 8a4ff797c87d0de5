/**
 * The peer arm: Polly.js replaying the same runs' HTTP calls.
 *
 * Setup, as Polly is used in test suites: one recording per run (its name is the run id), the fs
 * persister (one HAR file per recording, in a temp dir), the fetch adapter hooking the global
 * `fetch` that the agent's openai client reaches through the pass-through recorder. The runs are
 * recorded once in mode `record` against the simulator, then replayed in mode `replay` with
 * `recordIfMissing: false`, so a request without a recording fails instead of going live. A run
 * also fails unless Polly emitted a response for every fetch the agent made, which shows Polly,
 * not the simulator, answered. (The benchmark also replays once more with the simulator stopped.)
 *
 * What Polly does not do, and retrial does: it serves HTTP only. The tools really execute (on a
 * fresh in-memory account system per pass), the clock and `Math.random` are live, and nothing
 * checks the order of calls, the tool arguments, the decisions or the run's output. Polly matches
 * each request by method, URL, headers and body, as by default.
 */
import { Polly } from '@pollyjs/core';
import { pollyRoutedFetch } from '../record/peer-polly.ts';
import type { CorpusRun } from './demo-corpus.ts';
import { agentPass, type LivePass } from './live-arm.ts';

export const POLLY_REPLAY_NAME = 'Polly.js 6.0.6 (adapter-fetch 6.0.7, persister-fs 6.0.6), one recording per run, mode "replay"';

function pollyPass(runs: readonly CorpusRun[], recordingsDir: string, mode: 'record' | 'replay', modelBaseUrl: string): Promise<LivePass> {
  let fetches = 0;
  return agentPass(runs, {
    modelBaseUrl,
    fetch: (input, init) => {
      fetches++;
      return pollyRoutedFetch(input, init);
    },
    around: async (run, body) => {
      fetches = 0;
      const polly = new Polly(run.runId, {
        mode,
        recordIfMissing: false,
        adapters: ['fetch'],
        persister: 'fs',
        persisterOptions: { fs: { recordingsDir } },
        recordFailedRequests: true,
        logLevel: 'silent',
      });
      let responses = 0;
      polly.server.any().on('response', () => {
        responses++;
      });
      try {
        await body();
      } finally {
        await polly.stop();
      }
      if (responses === 0 || responses !== fetches)
        throw new Error(`Polly answered ${responses} of the ${fetches} requests of ${run.runId}: its fetch adapter did not intercept them all`);
    },
  });
}

/** Records every run once (the simulator must be up), for `replayPollyRuns` later. */
export function recordPollyRuns(runs: readonly CorpusRun[], recordingsDir: string, simulatorUrl: string): Promise<LivePass> {
  return pollyPass(runs, recordingsDir, 'record', `${simulatorUrl}/v1`);
}

/** One pass in mode `replay`; `simulatorUrl` only has to match the recorded URLs. */
export function pollyReplayPass(runs: readonly CorpusRun[], recordingsDir: string, simulatorUrl: string): Promise<LivePass> {
  return pollyPass(runs, recordingsDir, 'replay', `${simulatorUrl}/v1`);
}
