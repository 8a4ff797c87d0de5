/**
 * The engine arms: retrial's backfill as a user runs it, with the model simulator answering in
 * this process (createSimulatorFetch: the simulator's routes without a socket).
 *
 * One pass = the whole pipeline on the same store: planCampaign (select the decisions of the
 * window, find each one's decision step, read the exact recorded requests, exclude and sample,
 * store the campaign), runCampaign (send every item-arm through the request gate, parse the
 * answers, classify, write the results chunk by chunk), then loadCampaign + compareCampaign (the
 * flip matrix, noise floor and breakdowns the report prints). Every pass plans a fresh campaign,
 * so nothing is resumed and every result is written.
 *
 * The latency arm is the same pipeline with each answer delayed by a setTimeout: it measures
 * whether the gate keeps `concurrency` requests in flight, not the engine's CPU.
 */
import { campaignEndpoints, compareCampaign, loadCampaign, planCampaign, runCampaign } from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch } from '../../src/demo/simulator/index.ts';
import type { Store } from '../../src/store/index.ts';
import { ms, nowMs } from '../record/percentiles.ts';
import { DECISION_TYPE } from './history.ts';
import type { TimedPass } from './rounds.ts';
import { cpuMsSince } from './worker-pool.ts';

export const SIM_BASE_URL = 'http://sim.bench/v1';
export const ACTOR = 'backfill-bench';

export interface EnginePass extends TimedPass {
  campaignId: string;
  selected: number;
  /** Item-arm results written by the run (candidate for every decision, incumbent for the noise floor). */
  results: number;
  noiseFloor: number;
  planMs: number;
  runMs: number;
  /** loadCampaign + compareCampaign. */
  compareMs: number;
  wholeMs: number;
  runCpuMs: number;
  wholeCpuMs: number;
  flipRate: number;
  noiseRate: number;
}

export interface EngineOptions {
  store: Store;
  window: { since: number; until: number };
  /** Seed of the simulated model's sampling noise. */
  seed: string;
  concurrency: number;
  sample?: number;
  noiseFloor?: number;
  /** Wraps the in-process simulator fetch (the latency arm delays it). */
  wrapFetch?: (fetch: typeof globalThis.fetch) => typeof globalThis.fetch;
}

/** decisions/s of the run: selected decisions over the run's seconds. */
export const runDecisionsPerSecond = (pass: EnginePass) => (1000 * pass.selected) / pass.runMs;
export const runResultsPerSecond = (pass: EnginePass) => (1000 * pass.results) / pass.runMs;
export const wholeDecisionsPerSecond = (pass: EnginePass) => (1000 * pass.selected) / pass.wholeMs;

export type Phase = 'plan' | 'run' | 'compare';

/** Called around each phase, outside its timed region (the profiler starts and stops here). */
export interface PhaseHooks {
  start(phase: Phase): Promise<void>;
  end(phase: Phase): Promise<void>;
}

export async function enginePass(
  options: EngineOptions,
  headline: (pass: EnginePass) => number = runDecisionsPerSecond,
  hooks?: PhaseHooks,
): Promise<EnginePass> {
  const { store } = options;
  const timed = async <T>(phase: Phase, body: () => Promise<T>) => {
    await hooks?.start(phase);
    const cpu = process.cpuUsage();
    const started = nowMs();
    const value = await body();
    const wallMs = nowMs() - started;
    const cpuMs = cpuMsSince(cpu);
    await hooks?.end(phase);
    return { value, wallMs, cpuMs };
  };

  const plan = await timed('plan', () =>
    planCampaign({
      store,
      decisionType: DECISION_TYPE,
      since: options.window.since,
      until: options.window.until,
      candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
      sample: options.sample,
      noiseFloor: options.noiseFloor,
      actor: ACTOR,
      now: Date.now(),
    }),
  );
  const planned = plan.value;
  const run = await timed('run', () => {
    const simulatorFetch = createSimulatorFetch(createSimulatedModel({ seed: options.seed }));
    return runCampaign({
      store,
      campaignId: planned.campaignId,
      endpointFor: campaignEndpoints(planned.plan, { simulator: { baseUrl: SIM_BASE_URL, fetch: options.wrapFetch?.(simulatorFetch) ?? simulatorFetch } }),
      concurrency: options.concurrency,
      actor: ACTOR,
    });
  });
  const summary = run.value;
  const compare = await timed('compare', async () => compareCampaign(await loadCampaign(store, planned.campaignId)));
  const comparison = compare.value;

  const failures: string[] = [];
  if (summary.stoppedBecause) failures.push(`run stopped: ${summary.stoppedBecause}`);
  if (summary.pending) failures.push(`${summary.pending} item-arms left pending`);
  if (summary.written !== summary.total) failures.push(`${summary.written} results written of ${summary.total}`);
  if (comparison.progress.failed) failures.push(`${comparison.progress.failed} results are errors`);

  const pass: EnginePass = {
    headline: 0,
    line: '',
    failures,
    campaignId: planned.campaignId,
    selected: planned.plan.selected,
    results: summary.written,
    noiseFloor: planned.plan.noiseFloor,
    planMs: plan.wallMs,
    runMs: run.wallMs,
    compareMs: compare.wallMs,
    wholeMs: plan.wallMs + run.wallMs + compare.wallMs,
    runCpuMs: run.cpuMs,
    wholeCpuMs: plan.cpuMs + run.cpuMs + compare.cpuMs,
    flipRate: comparison.flipRate.rate,
    noiseRate: comparison.noiseFloor.rate,
  };
  pass.headline = headline(pass);
  pass.line =
    `${pass.selected} decisions, ${pass.results} results; plan ${ms(pass.planMs)} ms, run ${ms(pass.runMs)} ms, compare ${ms(pass.compareMs)} ms` +
    ` -> run ${runDecisionsPerSecond(pass).toFixed(0)} decisions/s, ${runResultsPerSecond(pass).toFixed(0)} results/s; whole pipeline ${wholeDecisionsPerSecond(pass).toFixed(0)} decisions/s` +
    `; CPU ${ms(pass.runCpuMs / pass.selected)} ms per decision (run), ${ms(pass.wholeCpuMs / pass.selected)} (whole)` +
    `; flip rate ${(100 * pass.flipRate).toFixed(1)}%, noise ${(100 * pass.noiseRate).toFixed(1)}%`;
  return pass;
}
