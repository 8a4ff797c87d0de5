/**
 * The printed figures of `npm run bench:replay`: per-arm sections, the loadTape split, and the
 * closing markdown table with the target line, meant to be pasted into bench/replay/README.md.
 * Formatting lives here so the measuring files stay about measuring.
 */
import { execSync } from 'node:child_process';
import { cpus } from 'node:os';
import { ms, ratio, summarize, verdict } from '../record/percentiles.ts';
import { PHASES, type PhaseFigures } from './load-tape-phases.ts';
import type { PassResult } from './retrial-arm.ts';

export const TARGET_REPLAYS_PER_SECOND = 500;

export const perSecond = (pass: PassResult) => (1000 * pass.perRunMs.length) / pass.wallMs;
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

export function machineLine(): string {
  let tree = 'not a git checkout';
  try {
    const git = (command: string) =>
      execSync(command, { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    const dirty = git('git status --porcelain src').split('\n').filter(Boolean).length;
    tree = `git ${git('git rev-parse --short HEAD')}${dirty ? ` + ${dirty} uncommitted file(s) under src/` : ''}`;
  } catch {}
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), Node ${process.version}, ${tree}`;
}

/** p50 ms per run of the runs on one channel (chat streams, email does not). */
function channelP50(pass: PassResult, channels: readonly string[], channel: string): number {
  return summarize(pass.perRunMs.filter((_, index) => channels[index] === channel)).p50;
}

/** One line per pass: rate, per-run percentiles, CPU, failures (each printed, at most 10). */
export function passLine(label: string, pass: PassResult, channels?: readonly string[]): string {
  const s = summarize(pass.perRunMs);
  const calls = (pass as { modelCallsPerRun?: Map<number, number> }).modelCallsPerRun;
  const modelCalls = calls ? `; model calls per run ${[...calls].map(([n, runs]) => `${n}: ${runs}`).join(', ')}` : '';
  const byChannel = channels ? `; p50 email ${ms(channelP50(pass, channels, 'email'))} ms, chat ${ms(channelP50(pass, channels, 'chat'))} ms` : '';
  const lines = [
    `${label}: ${pass.perRunMs.length} runs in ${ms(pass.wallMs)} ms -> ${perSecond(pass).toFixed(1)} runs/s; per run p50 ${ms(s.p50)} ms, p95 ${ms(s.p95)} ms, mean ${ms(s.mean)} ms${byChannel}; process CPU ${ms(pass.cpuMs / pass.perRunMs.length)} ms per run${modelCalls}; failures ${pass.failures.length}`,
    ...pass.failures.slice(0, 10).map((failure) => `  FAILED ${failure}`),
  ];
  return lines.join('\n');
}

export function splitSection(replay: PassResult, loadTape: PassResult, phases: PhaseFigures): string {
  const replayMean = mean(replay.perRunMs);
  const loadMean = mean(loadTape.perRunMs);
  const share = (value: number) => `${((100 * value) / replayMean).toFixed(1)}%`;
  return [
    `### How a replay's time splits (means over the same ${replay.perRunMs.length} runs, each pass with cold caches)`,
    '| part | ms per replay | share of replay |',
    '|---|---:|---:|',
    `| whole replayRun | ${ms(replayMean)} | 100% |`,
    `| loadTape (timed alone, p50 ${ms(summarize(loadTape.perRunMs).p50)} ms) | ${ms(loadMean)} | ${share(loadMean)} |`,
    `| the rest: agent code under the replay recorder, checks | ${ms(replayMean - loadMean)} | ${share(replayMean - loadMean)} |`,
    '',
    `loadTape phase by phase (a copy of its steps with a clock around each; copy total ${ms(phases.totalMeanMs)} ms vs loadTape ${ms(loadMean)} ms):`,
    '| phase | ms per run |',
    '|---|---:|',
    ...PHASES.map((phase) => `| ${phase} | ${ms(phases.meanMs[phase])} |`),
    `per run: ${phases.eventsPerRun.toFixed(1)} events, ${phases.blobsPerRun.toFixed(1)} blobs of ${Math.round(phases.blobBytesPerRun).toLocaleString('en-US')} B in all`,
  ].join('\n');
}

/**
 * The fastest timed pass of each arm. On a shared box a pass is slowed by whatever else runs
 * meanwhile, never sped up, so the best pass is the closest to an uncontended core; the target
 * verdict stays on the median.
 */
export function bestPassLine(timed: ReadonlyMap<string, readonly PassResult[]>): string {
  const best = [...timed].map(([name, passes]) => `${name} ${Math.max(...passes.map(perSecond)).toFixed(1)}/s`);
  return `best timed pass of each arm (closest to an uncontended core; the verdict above uses the median): ${best.join(', ')}`;
}

export interface Arms {
  /** First replay of each run in the pass: caches start cold; one replayer (one agent) per pass. */
  retrial: PassResult;
  /** As retrial, with replayRun for each run: the agent is created for every replay. */
  retrialPerRun: PassResult;
  /** The same runs again in the same process, caches warm. */
  retrialAgain: PassResult;
  live: PassResult;
  polly: PassResult;
  floor: PassResult;
}

export function summaryTable(arms: Arms, channels: readonly string[], runLabel: string, machine: string): string {
  const row = (name: string, what: string, pass: PassResult) => {
    const s = summarize(pass.perRunMs);
    const p50 = (channel: string) => ms(channelP50(pass, channels, channel));
    return `| ${name} | ${what} | ${pass.perRunMs.length} | ${perSecond(pass).toFixed(1)} | ${ms(s.p50)} | ${ms(s.p95)} | ${p50('email')} | ${p50('chat')} | ${ms(pass.cpuMs / pass.perRunMs.length)} | ${pass.failures.length} |`;
  };
  const rate = perSecond(arms.retrial);
  return [
    `Runs: ${runLabel}; ${channels.filter((c) => c === 'email').length} email (non-streaming), ${channels.filter((c) => c === 'chat').length} chat (streaming).`,
    '',
    '| arm | what is served / checked | runs | runs/s | ms per run p50 | p95 | p50 email | p50 chat | process CPU ms per run | failures |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    row(
      'retrial strict replay from SQLite',
      'every model call, tool, retrieval, clock read and random draw from the tape; order, payloads, decisions and output checked; each pass a new connection with empty caches',
      arms.retrial,
    ),
    row(
      'retrial, replayRun per run',
      'as above, with the agent created for each replay (`retrial replay <run>`) instead of once per pass (`retrial replay --all`, and every other arm)',
      arms.retrialPerRun,
    ),
    row(
      'retrial again, same process',
      'as above, replaying runs this process has just replayed (store connection, inflated packs and cached blobs still in memory)',
      arms.retrialAgain,
    ),
    row('live re-run over HTTP', 'nothing: simulator on loopback (own process, no added latency), tools execute', arms.live),
    row('Polly.js replay', 'HTTP only, from one HAR per run; tools execute, clock and random live, order and output unchecked', arms.polly),
    row(
      'reference floor: agent code alone',
      'HTTP responses canned in memory, nothing recorded or checked; tools execute; 0 ms timers as setImmediate, as in a replay',
      arms.floor,
    ),
    '',
    `retrial / live HTTP: ${ratio(rate, perSecond(arms.live))} the runs per second; retrial / Polly: ${ratio(rate, perSecond(arms.polly))}; retrial / floor: ${ratio(rate, perSecond(arms.floor))}`,
    `target: >= ${TARGET_REPLAYS_PER_SECOND} exact replays per second of a 6-step run on one core: ${rate.toFixed(1)}/s -> ${verdict(rate >= TARGET_REPLAYS_PER_SECOND)} (first replays, caches cold); with an agent per replay: ${perSecond(arms.retrialPerRun).toFixed(1)}/s -> ${verdict(perSecond(arms.retrialPerRun) >= TARGET_REPLAYS_PER_SECOND)}; replaying the same runs again: ${perSecond(arms.retrialAgain).toFixed(1)}/s -> ${verdict(perSecond(arms.retrialAgain) >= TARGET_REPLAYS_PER_SECOND)}`,
    '',
    `Machine: ${machine}. Shared 2-core box, noisy: absolute rates move between runs; compare the arms and ratios of one run. Each arm runs in a process of its own, one arm at a time, its runs one after another on one thread (one core); the simulator has the other core.`,
  ].join('\n');
}
