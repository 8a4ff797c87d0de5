/**
 * A reference floor, not a competitor: the agent's own code with every HTTP response canned in
 * memory, and nothing else. No network, no tape, no checks, no recorder work.
 *
 * Why: any replayer that re-executes the agent's code (retrial, Polly) pays at least what the
 * agent code costs to run: the openai SDK building requests and parsing (streamed) responses,
 * Node's Response and web streams, the tools against the in-memory account system. If that floor
 * alone is near 2 ms per run, 500 replays/s cannot be reached by making retrial cheaper; the gap
 * between retrial and this floor is what retrial itself adds. The responses are captured once
 * from the simulator (status, headers, body text; a streamed body is its whole SSE text), then
 * served in call order per run as `new Response(body)`, which is all a fetch-level replayer does.
 */
import { NATIVE_FETCH } from '../record/peer-polly.ts';
import type { CorpusRun } from './demo-corpus.ts';
import { agentPass, type LivePass } from './live-arm.ts';

export interface CannedResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

/** Runs every ticket live once and keeps each run's responses in call order. */
export async function captureCannedResponses(runs: readonly CorpusRun[], simulatorUrl: string): Promise<Map<string, CannedResponse[]>> {
  const canned = new Map<string, CannedResponse[]>();
  let current: CannedResponse[] = [];
  const capturing: typeof fetch = async (input, init) => {
    const response = await NATIVE_FETCH(input, init);
    const body = await response.text();
    const entry = { status: response.status, headers: [...response.headers], body };
    current.push(entry);
    return new Response(body, { status: entry.status, headers: entry.headers });
  };
  const pass = await agentPass(runs, {
    modelBaseUrl: `${simulatorUrl}/v1`,
    fetch: capturing,
    around: (run, body) => {
      current = [];
      canned.set(run.runId, current);
      return body();
    },
  });
  if (pass.failures.length) throw new Error(`capturing canned responses failed: ${pass.failures[0]}`);
  return canned;
}

/** One pass of the agent code over the canned responses, in call order per run. */
export function cannedFloorPass(runs: readonly CorpusRun[], canned: ReadonlyMap<string, CannedResponse[]>): Promise<LivePass> {
  let queue: CannedResponse[] = [];
  let next = 0;
  const serve: typeof fetch = async () => {
    const entry = queue[next++];
    if (!entry) throw new Error('no canned response left for this run');
    return new Response(entry.body, { status: entry.status, headers: entry.headers });
  };
  return agentPass(runs, {
    modelBaseUrl: 'http://canned.invalid/v1',
    fetch: serve,
    around: (run, body) => {
      queue = canned.get(run.runId) ?? [];
      next = 0;
      return body();
    },
  });
}
