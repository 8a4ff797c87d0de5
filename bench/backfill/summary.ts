/**
 * The printed figures of `npm run bench:backfill`: the closing markdown table with the target
 * lines, meant to be pasted into bench/backfill/README.md. Formatting lives here so the measuring
 * files stay about measuring.
 */
import { loadavg } from 'node:os';
import { ms, ratio } from '../record/percentiles.ts';
import { type EnginePass, runDecisionsPerSecond, runResultsPerSecond, wholeDecisionsPerSecond } from './engine-arm.ts';
import { IDEAL_REQUESTS_PER_SECOND, LATENCY_CONCURRENCY, LATENCY_MS } from './latency-arm.ts';
import type { NaivePass } from './naive-arm.ts';
import type { ArmPasses } from './rounds.ts';
import type { FloorPass } from './simulator-floor.ts';

export const TARGET_DECISIONS_PER_SECOND = 2000;
export const TARGET_LATENCY_RATIO = 0.8;

export { machineLine } from '../replay/summary.ts';

export function verdict(ok: boolean): string {
  return ok ? 'OK' : 'MISS';
}

export function loadLine(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' / ');
}

export interface SummaryInput {
  engine: ArmPasses;
  floor: ArmPasses;
  latency: ArmPasses;
  naive: ArmPasses;
  rounds: number;
  machine: string;
  loadBefore: string;
  loadAfter: string;
  history: string;
}

const spread = (arm: ArmPasses, digits = 0) =>
  arm.timed
    .map((pass) => pass.headline)
    .sort((a, b) => a - b)
    .map((value) => value.toFixed(digits))
    .join(', ');

/** headline(a) / headline(b) round by round (each round runs every arm once), and their median. */
function pairedRatios(a: ArmPasses, b: ArmPasses): string {
  const ratios = a.timed.map((pass, round) => pass.headline / (b.timed[round]?.headline ?? Number.NaN));
  const sorted = [...ratios].sort((x, y) => x - y);
  return `${ratios.map((value) => value.toFixed(2)).join(', ')} (median ${(sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN).toFixed(2)})`;
}

export function summaryTable(input: SummaryInput): string {
  const engine = input.engine.median as EnginePass;
  const floor = input.floor.median as FloorPass;
  const latency = input.latency.median as EnginePass;
  const naive = input.naive.median as NaivePass;
  const engineRate = runDecisionsPerSecond(engine);
  const latencyRatio = runResultsPerSecond(latency) / IDEAL_REQUESTS_PER_SECOND;
  const engineMsPerDecision = engine.runMs / engine.selected;
  const floorMsPerDecision = floor.wallMs / floor.decisions;
  const failures = (pass: { failures: string[] }) => pass.failures.length;
  return [
    `History: ${input.history}. Each figure is from the median pass of ${input.rounds} interleaved rounds (after one warm-up pass per arm).`,
    '',
    '| arm | what one pass does | decisions | requests | ms | decisions/s | requests/s | process CPU ms per decision | failures |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    `| engine, instant simulator: runCampaign | concurrency 16; send, parse, classify, write results in chunks of 64 | ${engine.selected} | ${engine.results} | ${ms(engine.runMs)} | ${engineRate.toFixed(0)} | ${runResultsPerSecond(engine).toFixed(0)} | ${ms(engine.runCpuMs / engine.selected)} | ${failures(engine)} |`,
    `| engine, whole pipeline | planCampaign (${ms(engine.planMs)} ms) + runCampaign + loadCampaign/compareCampaign (${ms(engine.compareMs)} ms) | ${engine.selected} | ${engine.results} | ${ms(engine.wholeMs)} | ${wholeDecisionsPerSecond(engine).toFixed(0)} | ${((1000 * engine.results) / engine.wholeMs).toFixed(0)} | ${ms(engine.wholeCpuMs / engine.selected)} | ${failures(engine)} |`,
    `| reference floor: simulator alone | the same request bodies straight to createSimulatorFetch, parsed; no retrial | ${floor.decisions} | ${floor.requests} | ${ms(floor.wallMs)} | ${floor.headline.toFixed(0)} | ${((1000 * floor.requests) / floor.wallMs).toFixed(0)} | ${ms(floor.cpuMs / floor.decisions)} | ${failures(floor)} |`,
    `| peer: naive script | loadTape + describeStep + openai client per decision, candidate only, results in memory; concurrency 16 | ${naive.decisions} | ${naive.decisions} | ${ms(naive.wallMs)} | ${naive.headline.toFixed(0)} | ${naive.headline.toFixed(0)} | ${ms(naive.cpuMs / Math.max(1, naive.decisions))} | ${failures(naive)} |`,
    `| engine, ${LATENCY_MS} ms model latency | sample ${latency.selected}, no noise floor, concurrency ${LATENCY_CONCURRENCY}; run only (plan ${ms(latency.planMs)} ms) | ${latency.selected} | ${latency.results} | ${ms(latency.runMs)} | ${runDecisionsPerSecond(latency).toFixed(1)} | ${runResultsPerSecond(latency).toFixed(1)} | ${ms(latency.runCpuMs / latency.selected)} | ${failures(latency)} |`,
    '',
    `Engine run passes: ${spread(input.engine)} decisions/s; floor ${spread(input.floor)}; naive ${spread(input.naive)}; latency ${spread(input.latency, 1)} requests/s.`,
    `The simulator alone on the same bodies: ${ms(floorMsPerDecision)} ms of wall time and ${ms(floor.cpuMs / floor.decisions)} ms of CPU per decision; the engine run: ${ms(engineMsPerDecision)} ms and ${ms(engine.runCpuMs / engine.selected)} ms. Difference, retrial's own part: ${ms(engineMsPerDecision - floorMsPerDecision)} ms wall, ${ms(engine.runCpuMs / engine.selected - floor.cpuMs / floor.decisions)} ms CPU per decision${engineMsPerDecision - floorMsPerDecision < 0.05 ? ' (at or below the noise of two medians; the profile splits it more reliably)' : ''}.`,
    `Paired by round (less exposed to outside load than the medians): engine run / simulator alone ${pairedRatios(input.engine, input.floor)}; engine run / naive script ${pairedRatios(input.engine, input.naive)}.`,
    `retrial / naive script, decisions/s: whole pipeline ${ratio(wholeDecisionsPerSecond(engine), naive.headline)}, runCampaign alone ${ratio(engineRate, naive.headline)} (retrial also sends ${engine.results - engine.selected} noise-floor requests and persists every result; the script sends ${naive.decisions} and keeps them in memory).`,
    '',
    `target: >= ${TARGET_DECISIONS_PER_SECOND} decisions/s of engine throughput (runCampaign, instant in-process simulator): ${engineRate.toFixed(0)}/s -> ${verdict(engineRate >= TARGET_DECISIONS_PER_SECOND)}`,
    `target: with ${LATENCY_MS} ms latency at concurrency ${LATENCY_CONCURRENCY}, >= ${TARGET_LATENCY_RATIO} of ${LATENCY_CONCURRENCY} / ${LATENCY_MS / 1000} s = ${IDEAL_REQUESTS_PER_SECOND} requests/s: ${runResultsPerSecond(latency).toFixed(1)}/s = ${latencyRatio.toFixed(3)} -> ${verdict(latencyRatio >= TARGET_LATENCY_RATIO)}`,
    '',
    `Machine: ${input.machine}; load average (1/5/15 min) ${input.loadBefore} before, ${input.loadAfter} after. Shared 2-core box, noisy: absolute rates move between runs; compare the arms and ratios of one run.`,
  ].join('\n');
}
