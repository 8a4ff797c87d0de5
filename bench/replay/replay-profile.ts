/**
 * CPU profile of a warm replay loop, summarised by where the time goes.
 *
 * It uses V8's sampling profiler through `node:inspector` (the profiler `node --cpu-prof` uses)
 * around one extra replay pass only, so recording, Polly and module loading are not in it. The
 * profile is written to a `.cpuprofile` file that is kept (Chrome DevTools opens it;
 * `npx tsx bench/record/cpuprofile-summary.ts <file>` lists it by file and function; this
 * benchmark prints that listing too). Each sample goes to the frame nearest the leaf that matches
 * a SPECIFIC rule anywhere on its stack (so `Buffer.from` inside the store counts as SQLite, and
 * "zod" is time inside zod wherever it was called from), else to the nearest GENERIC rule (openai
 * SDK, agent code, Node internals...). A builtin such as JSON.parse shows as its caller's self time.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { categorizeSamples, nearestRule, type Profile, type Rule } from '../cpuprofile-categories.ts';
import { replayPass } from './retrial-arm.ts';

/** Checked first, over the whole stack: the nearest matching frame wins. */
const SPECIFIC: Rule[] = [
  ['pack inflation (node:zlib inflateRawSync)', (f) => f.url === 'node:zlib'],
  ['zod (parseEvent)', (f) => f.url.includes('/node_modules/zod/')],
  ['stack capture (captureAgentSite/captureCallSite)', (f) => f.url.includes('/src/record/call-site.ts') || f.functionName === 'get stack'],
  ['SQLite reads (better-sqlite3 + row mapping, store code)', (f) => f.url.includes('/src/store/') || f.url.includes('/better-sqlite3/')],
  ['redaction of replayed requests (PII regex walk)', (f) => f.url.includes('/src/record/redaction.ts')],
  ['canonical JSON + sha256 (createBlob, hashes)', (f) => /\/src\/tape\/(canonical-json|hash)\.ts/.test(f.url) || f.functionName === 'createBlob'],
  ['blob JSON.parse (decodeBlob)', (f) => f.functionName === 'decodeBlob'],
  ['loadTape remainder (JSON.parse of event rows, closure walk)', (f) => f.url.includes('/src/inspect/')],
  ['wire format conversion (src/providers)', (f) => f.url.includes('/src/providers/')],
];

/** Used only when no specific rule matched anywhere on the stack. */
const GENERIC: Rule[] = [
  ['replay bookkeeping (ledger, replay recorder, scope, patches)', (f) => /\/src\/(replay|record)\//.test(f.url)],
  ['openai SDK', (f) => f.url.includes('/node_modules/openai/')],
  ['agent code (support-agent, policy)', (f) => f.url.includes('/src/demo/')],
  ['other src/tape (event/blob helpers)', (f) => f.url.includes('/src/tape/')],
  ['Node: Response, web streams, Headers, URL, crypto', (f) => f.url.startsWith('node:')],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
  ['idle: main thread waiting (timers; see README)', (f) => f.functionName === '(idle)'],
];

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  runs: number;
  /** Category -> ms, sorted descending. */
  categories: Array<[string, number]>;
}

export async function profileReplayLoop(dbPath: string, runIds: readonly string[], outDir: string): Promise<ProfileSummary> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  await replayPass(dbPath, runIds);
  const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
  session.disconnect();
  const file = join(outDir, `replay-loop-${process.pid}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));

  const { sampledMs, categories } = categorizeSamples(
    profile,
    (stack) => nearestRule(stack, SPECIFIC) ?? nearestRule(stack, GENERIC) ?? 'other (program, native, bench loop)',
  );
  return { file, sampledMs, runs: runIds.length, categories: [...categories].sort((a, b) => b[1] - a[1]) };
}

export function profileSection(summary: ProfileSummary): string {
  const lines = [
    `### Where a replay's time goes (CPU profile of one more cold pass, ${summary.runs} replays, 100 µs sampling)`,
    '| category (frame nearest the leaf) | ms per replay | share |',
    '|---|---:|---:|',
    ...summary.categories.map(([name, ms]) => `| ${name} | ${(ms / summary.runs).toFixed(3)} | ${((100 * ms) / summary.sampledMs).toFixed(1)}% |`),
    `| total sampled | ${(summary.sampledMs / summary.runs).toFixed(3)} | 100% |`,
    '',
    `profile kept at ${summary.file}; top self time by file and function (bench/record/cpuprofile-summary.ts; its "dispatch" line is the profiler's own stop, not the replay):`,
  ];
  const script = join(import.meta.dirname, '..', 'record', 'cpuprofile-summary.ts');
  try {
    lines.push(execFileSync(process.execPath, ['--import', 'tsx', script, summary.file, '15'], { encoding: 'utf8' }).trimEnd());
  } catch (error) {
    lines.push(`(cpuprofile-summary failed: ${error instanceof Error ? error.message : String(error)})`);
  }
  return lines.join('\n');
}
