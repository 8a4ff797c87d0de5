/**
 * CPU profile of one more warm engine pass, phase by phase (plan, run, compare), summarised by
 * where the time goes.
 *
 * It uses V8's sampling profiler through `node:inspector` (the profiler `node --cpu-prof` uses),
 * started and stopped around each phase, outside the phase's timed region, so recording and the
 * other arms are not in it. Each phase's profile is kept as a `.cpuprofile` file (Chrome DevTools
 * opens it). A sample with the simulator anywhere on its stack counts as the simulator (its
 * canonical JSON, zod and sha256 included: a real endpoint would not cost this process any of
 * it). Any other sample goes to the frame nearest the leaf that matches a SPECIFIC rule anywhere
 * on its stack (so `Buffer.from` inside the store counts as SQLite), else to the nearest GENERIC
 * rule. A builtin such as JSON.parse shows as its caller's time. The listing by file and function
 * comes from bench/record/cpuprofile-summary.ts, as in bench/replay.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { categorizeSamples, type Frame, nearestRule, type Profile, type Rule } from '../cpuprofile-categories.ts';
import { type EngineOptions, type EnginePass, enginePass, type Phase } from './engine-arm.ts';

export const SIMULATOR_CATEGORY = 'the simulator itself (zod, canonical JSON + sha256 of each body, scoring, answer JSON, new Response)';
const isSimulator = (f: Frame) => f.url.includes('/src/demo/simulator/');

/** Checked over the whole stack: the nearest matching frame wins. */
const SPECIFIC: Rule[] = [
  ['pack inflation (node:zlib)', (f) => f.url === 'node:zlib'],
  ['zod (parseStored, parseEvent)', (f) => f.url.includes('/node_modules/zod/')],
  ['SQLite (better-sqlite3 + store code: reads, campaign and result writes)', (f) => f.url.includes('/src/store/') || f.url.includes('/better-sqlite3/')],
  ['canonical JSON + sha256 (src/tape)', (f) => /\/src\/tape\/(canonical-json|hash)\.ts/.test(f.url)],
  ['wire format: detect, assemble streams, convert answers (src/providers)', (f) => f.url.includes('/src/providers/')],
  ['request texts and blob closure (src/inspect)', (f) => f.url.includes('/src/inspect/')],
];

/** Used only when no specific rule matched anywhere on the stack. */
const GENERIC: Rule[] = [
  ['backfill engine (plan, gate, executeChunk, compare: src/backfill)', (f) => f.url.includes('/src/backfill/')],
  ['model endpoint, classify (src/replay)', (f) => f.url.includes('/src/replay/')],
  ['other src/tape (events, wire bodies)', (f) => f.url.includes('/src/tape/')],
  ['other src (stats, record)', (f) => f.url.includes('/src/')],
  ['Node: reading answers (Response.text, web streams), Headers, URL, crypto', (f) => f.url.startsWith('node:')],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  ['idle: main thread waiting', (f) => f.functionName === '(idle)'],
];

export interface PhaseProfile {
  file: string;
  sampledMs: number;
  /** Category -> ms. */
  categories: Map<string, number>;
}

export interface ProfileSummary {
  pass: EnginePass;
  phases: Record<Phase, PhaseProfile>;
}

function summarise(profile: Profile, file: string): PhaseProfile {
  const { sampledMs, categories } = categorizeSamples(profile, (stack) =>
    stack.some(isSimulator) ? SIMULATOR_CATEGORY : (nearestRule(stack, SPECIFIC) ?? nearestRule(stack, GENERIC) ?? 'other (program, native, bench code)'),
  );
  return { file, sampledMs, categories };
}

export async function profileEnginePass(options: EngineOptions, outDir: string): Promise<ProfileSummary> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const phases: Partial<Record<Phase, PhaseProfile>> = {};
  try {
    const pass = await enginePass(options, undefined, {
      start: async () => {
        await session.post('Profiler.start');
      },
      end: async (phase) => {
        const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
        const file = join(outDir, `backfill-${phase}-${process.pid}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        phases[phase] = summarise(profile, file);
      },
    });
    return { pass, phases: phases as Record<Phase, PhaseProfile> };
  } finally {
    session.disconnect();
  }
}

function listing(file: string, top: number): string {
  const script = join(import.meta.dirname, '..', 'record', 'cpuprofile-summary.ts');
  try {
    return execFileSync(process.execPath, ['--import', 'tsx', script, file, String(top)], { encoding: 'utf8' }).trimEnd();
  } catch (error) {
    return `(cpuprofile-summary failed: ${error instanceof Error ? error.message : String(error)})`;
  }
}

export function profileSection(summary: ProfileSummary): string {
  const n = summary.pass.selected;
  const { plan, run, compare } = summary.phases;
  const names = new Set([...plan.categories.keys(), ...run.categories.keys(), ...compare.categories.keys()]);
  const cell = (phase: PhaseProfile, name: string) => ((phase.categories.get(name) ?? 0) / n).toFixed(3);
  const rows = [...names]
    .filter((name) => [plan, run, compare].some((phase) => (phase.categories.get(name) ?? 0) / n >= 0.0005))
    .sort((a, b) => (run.categories.get(b) ?? 0) - (run.categories.get(a) ?? 0) || (plan.categories.get(b) ?? 0) - (plan.categories.get(a) ?? 0))
    .map(
      (name) =>
        `| ${name} | ${cell(plan, name)} | ${cell(run, name)} | ${((100 * (run.categories.get(name) ?? 0)) / run.sampledMs).toFixed(1)}% | ${cell(compare, name)} |`,
    );
  const simulatorRun = run.categories.get(SIMULATOR_CATEGORY) ?? 0;
  const idleRun = run.categories.get('idle: main thread waiting') ?? 0;
  return [
    `### Where an engine pass's time goes (CPU profile of one more pass, ${n} decisions, ${summary.pass.results} requests, 100 µs sampling, ms per decision)`,
    `profiled pass: ${summary.pass.line}`,
    '',
    '| category (simulator anywhere on the stack, else the frame nearest the leaf) | plan | run | share of run | compare |',
    '|---|---:|---:|---:|---:|',
    ...rows,
    `| total sampled | ${(plan.sampledMs / n).toFixed(3)} | ${(run.sampledMs / n).toFixed(3)} | 100% | ${(compare.sampledMs / n).toFixed(3)} |`,
    '',
    `runCampaign without the simulator and idle time: ${((run.sampledMs - simulatorRun - idleRun) / n).toFixed(3)} ms per decision -> at most ${Math.round((1000 * n) / (run.sampledMs - simulatorRun - idleRun))} decisions/s on one core against a model that costs this process nothing.`,
    '',
    `profiles kept at ${run.file} (and -plan-, -compare-); top self time of the run phase by file and function (bench/record/cpuprofile-summary.ts):`,
    listing(run.file, 15),
    '',
    'top self time of the plan phase:',
    listing(plan.file, 8),
  ].join('\n');
}
