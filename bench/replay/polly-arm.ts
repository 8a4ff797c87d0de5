/**
 * The peer arm: Polly.js replaying the same runs' HTTP calls.
 *
 * Setup, as Polly is used in test suites: one recording per run (its name is the run id), the fs
 * persister (one HAR file per recording, in a temp dir), the fetch adapter hooking the global
 * `fetch` that the agent's openai client reaches through the pass-through recorder. The runs are
 * recorded once in mode `record` against the simulator; then the simulator is stopped and the
 * runs are replayed in mode `replay` (`recordIfMissing: false`), so any request Polly did not
 * serve fails instead of quietly going live. Every replayed run must also have seen at least one
 * response through Polly, or it counts as a failure.
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
  return agentPass(runs, {
    modelBaseUrl,
    fetch: pollyRoutedFetch,
    around: async (run, body) => {
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
      if (responses === 0) throw new Error(`Polly saw no response for ${run.runId}: its fetch adapter did not intercept the calls`);
    },
  });
}

/** Records every run once (the simulator must be up), for `replayPollyRuns` later. */
export function recordPollyRuns(runs: readonly CorpusRun[], recordingsDir: string, simulatorUrl: string): Promise<LivePass> {
  return pollyPass(runs, recordingsDir, 'record', `${simulatorUrl}/v1`);
}

/** One warm-up pass and one timed pass in mode `replay` (stop the simulator first). */
export async function measurePollyReplay(
  runs: readonly CorpusRun[],
  recordingsDir: string,
  simulatorUrl: string,
): Promise<{ warmup: LivePass; timed: LivePass }> {
  const warmup = await pollyPass(runs, recordingsDir, 'replay', `${simulatorUrl}/v1`);
  const timed = await pollyPass(runs, recordingsDir, 'replay', `${simulatorUrl}/v1`);
  return { warmup, timed };
}
