/**
 * The live arm: the same tickets re-run by the same agent code against the model simulator over
 * loopback HTTP, with no recording at all (the pass-through recorder).
 *
 * What it stands for: "just run it again". The simulator answers at once (no model latency) and
 * runs in its own process, so this is the cheapest a live re-run can be: the agent code, the
 * openai SDK, Node's fetch and a loopback round trip per model call. The tools really execute,
 * on a fresh in-memory account system per pass (write tools change it, so reusing it would change
 * later runs). The live model may answer differently than when recorded, so the arm also counts
 * the calls it actually made.
 */
import { createAccountSystem, supportAgent } from '../../src/demo/index.ts';
import { NATIVE_FETCH } from '../record/peer-polly.ts';
import { nowMs } from '../record/percentiles.ts';
import type { CorpusRun } from './demo-corpus.ts';
import { type CallCounts, createPassThroughRecorder } from './pass-through-recorder.ts';
import { cpuMsSince, type PassResult } from './retrial-arm.ts';

export interface LivePass extends PassResult {
  counts: CallCounts;
  /** Model calls made per run -> number of runs. */
  modelCallsPerRun: Map<number, number>;
}

/**
 * Runs every ticket once, sequentially. `fetch` is Node's own by default (captured before any
 * patch); the Polly arm passes one that reaches Polly's adapter instead.
 */
export async function agentPass(
  runs: readonly CorpusRun[],
  options: { modelBaseUrl: string; fetch?: typeof fetch; around?: (run: CorpusRun, body: () => Promise<unknown>) => Promise<unknown> },
): Promise<LivePass> {
  const rec = createPassThroughRecorder({ fetch: options.fetch ?? NATIVE_FETCH });
  const services = createAccountSystem(runs.map((run) => run.scheduled.account));
  const handle = supportAgent.create({ rec, env: { RETRIAL_MODEL_BASE_URL: options.modelBaseUrl }, services });
  const around = options.around ?? ((_run, body) => body());
  const perRunMs: number[] = [];
  const failures: string[] = [];
  const modelCallsPerRun = new Map<number, number>();
  const cpu = process.cpuUsage();
  const started = nowMs();
  for (const run of runs) {
    const fetchesBefore = rec.counts.fetches;
    const before = nowMs();
    try {
      await around(run, () => handle(run.scheduled.ticket));
    } catch (error) {
      failures.push(`${run.runId}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
    perRunMs.push(nowMs() - before);
    const calls = rec.counts.fetches - fetchesBefore;
    modelCallsPerRun.set(calls, (modelCallsPerRun.get(calls) ?? 0) + 1);
  }
  return { perRunMs, wallMs: nowMs() - started, cpuMs: cpuMsSince(cpu), failures, served: 0, counts: { ...rec.counts }, modelCallsPerRun };
}
