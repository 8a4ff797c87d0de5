/**
 * `npm run bench:record`: what recording with retrial costs a caller, next to a well-known
 * record/replay library (Polly.js), in one run on this machine. Prints:
 *   1. added latency per non-streaming call, ~300 B and 16 KB bodies, real `openai` client;
 *   2. time to first streamed chunk;
 *   3. bytes stored for a 20-step run with an 8 KB system prompt;
 *   4. a markdown summary table for bench/record/README.md.
 * It is a benchmark, not a test: it exits 0 even when a target is missed (the lines say MISS).
 *
 * Knobs (environment): BENCH_CALLS (2000 per arm and size), BENCH_WARMUP (200), BENCH_CALLS_PER_RUN
 * (20), BENCH_STREAM_CALLS (30), BENCH_CHUNK_DELAY_MS (20).
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecorder } from '../../src/record/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { measureFirstChunk } from './first-chunk.ts';
import { createArmClients, measureCallLatency } from './latency-arms.ts';
import { NATIVE_FETCH, PEER_NAME } from './peer-polly.ts';
import { nowMs } from './percentiles.ts';
import { firstChunkSection, type LatencyFigures, latencyFigures, latencySection, latencyTargets, storedBytesSection } from './report.ts';
import { bodyBytes, requestFactory } from './request-bodies.ts';
import { startSimulatorProcess } from './simulator-process.ts';
import { measureStoredBytes } from './stored-bytes.ts';
import { summaryTable } from './summary-table.ts';

const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CALLS = knob('BENCH_CALLS', 2000);
const WARMUP = knob('BENCH_WARMUP', 200);
const CALLS_PER_RUN = knob('BENCH_CALLS_PER_RUN', 20);
const STREAM_CALLS = knob('BENCH_STREAM_CALLS', 30);
const CHUNK_DELAY_MS = knob('BENCH_CHUNK_DELAY_MS', 20);

function machineLine(): string {
  let tree = 'not a git checkout';
  try {
    const head = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execSync('git status --porcelain src', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean).length;
    tree = `git ${head}${dirty ? ` + ${dirty} uncommitted file(s) under src/` : ''}`;
  } catch {}
  return `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), Node ${process.version}, ${tree}`;
}

const started = nowMs();
const machine = machineLine();
const workDir = mkdtempSync(join(tmpdir(), 'retrial-record-bench-'));
const simulator = await startSimulatorProcess({ chunkDelayMs: CHUNK_DELAY_MS });
const store = await openSqliteStore(join(workDir, 'latency.sqlite'));
const rec = createRecorder({ store, agent: 'bench', baseFetch: NATIVE_FETCH });

try {
  console.log('# retrial record benchmark');
  console.log(`machine: ${machine}`);
  console.log(
    `peer: ${PEER_NAME}. Chosen because it is the brief's first choice and it works here: installs under engine-strict on Node 20 and its fetch adapter hooks the openai client's fetch (each Polly session checks it recorded calls).`,
  );
  console.log(`simulator: loopback, own process; retrial: SQLite store in ${workDir}, one run per ${CALLS_PER_RUN} calls\n`);

  const clients = createArmClients(simulator.plainUrl, rec);
  const sizes = [
    { label: 'small', target: 300 },
    { label: '16 KB', target: 16 * 1024 },
  ] as const;
  const latency: Record<string, LatencyFigures> = {};
  for (const interleave of ['call', 'block'] as const) {
    for (const size of sizes) {
      const makeRequest = requestFactory(size.target);
      const result = await measureCallLatency({
        clients,
        rec,
        pollyDir: join(workDir, `polly-${interleave}-${size.target}`),
        label: `latency-${interleave}-${size.target}`,
        interleave,
        makeRequest,
        warmup: WARMUP,
        iterations: CALLS,
        callsPerRun: CALLS_PER_RUN,
        afterRunEnd: () => store.idle(),
      });
      const figures = latencyFigures(size.label, bodyBytes(makeRequest(0)), result, CALLS_PER_RUN);
      latency[`${interleave}-${size.target}`] = figures;
      console.log(`${latencySection(figures)}\n`);
    }
  }
  const pick = (key: string) => latency[key] as LatencyFigures;
  const [small, large, smallBlock, largeBlock] = [pick('call-300'), pick(`call-${16 * 1024}`), pick('block-300'), pick(`block-${16 * 1024}`)];
  console.log(`${latencyTargets(large)}\n`);
  const recorded = await store.stats();
  const expectedRuns = 4 * Math.ceil((WARMUP + CALLS) / CALLS_PER_RUN);
  console.log(`check: retrial stored ${recorded.runs} runs (expected ${expectedRuns}), ${JSON.stringify(recorded.runsByStatus)}, ${recorded.events} events\n`);
  if (recorded.runs !== expectedRuns) throw new Error('retrial did not record every block as a run');

  const firstChunk = await measureFirstChunk({
    clients: createArmClients(simulator.streamingUrl, rec),
    rec,
    pollyDir: join(workDir, 'polly-stream'),
    warmup: 3,
    iterations: STREAM_CALLS,
    callsPerRun: 10,
    afterRunEnd: () => store.idle(),
  });
  console.log(`${firstChunkSection(firstChunk, CHUNK_DELAY_MS)}\n`);

  const stored = await measureStoredBytes({ baseUrl: simulator.plainUrl, workDir });
  console.log(`${storedBytesSection(stored)}\n`);

  console.log('## Summary (paste into bench/record/README.md)\n');
  console.log(summaryTable({ small, large, smallBlock, largeBlock, firstChunk, stored }, machine));
  console.log(`\nfinished in ${((nowMs() - started) / 1000).toFixed(1)} s`);
} finally {
  await rec.flush();
  await store.close();
  await simulator.stop();
  rmSync(workDir, { recursive: true, force: true });
}
