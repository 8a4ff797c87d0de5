/**
 * Where retrial's added latency per call goes. Not part of `npm run bench:record`; run it when
 * a latency target is missed:
 *   npx tsx bench/record/profile-hot-path.ts                 (split of the added time)
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/record/profile-hot-path.ts
 *   npx tsx bench/record/cpuprofile-summary.ts /tmp/prof/<file>.cpuprofile
 * Environment: PROFILE_CALLS (1500), PROFILE_BYTES (16384), PROFILE_SOURCE_MAPS=off, PROFILE_MICRO=off
 * (skip the per-read micro-benchmark, e.g. so it does not pollute a CPU profile).
 *
 * It measures, interleaved per iteration on the 16 KB body (PROFILE_BYTES to change):
 *   baseline:   native fetch, outside any run;
 *   sdk-in-run: the same native-fetch client called inside a run, so the only extra cost is
 *               recording the openai SDK's own Date.now / Math.random reads;
 *   retrial:    rec.fetch inside a run, with its base fetch and its caller instrumented, which
 *               splits the call into: before the network (rec.fetch pre-processing), after it
 *               (reading and re-wrapping the response), and the client's own work.
 * The recorder here flushes only at run end (flushIntervalMs huge), so deferred work (building
 * events, hashing blobs, SQLite) is timed separately instead of landing on random calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createRecorder } from '../../src/record/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { NATIVE_FETCH } from './peer-polly.ts';
import { ms, nowMs, summarize } from './percentiles.ts';
import { requestFactory } from './request-bodies.ts';
import { openRunDriver } from './retrial-run-driver.ts';
import { startSimulatorProcess } from './simulator-process.ts';

const ITERATIONS = Number(process.env.PROFILE_CALLS ?? 1500);
const BYTES = Number(process.env.PROFILE_BYTES ?? 16 * 1024);
const PER_RUN = 20;
// PROFILE_SOURCE_MAPS=off shows what Node's source-map stack mapping (on under tsx) adds.
if (process.env.PROFILE_SOURCE_MAPS === 'off') process.setSourceMapsEnabled(false);

const workDir = mkdtempSync(join(tmpdir(), 'retrial-profile-'));
const simulator = await startSimulatorProcess({ chunkDelayMs: 0 });
const sqlite = await openSqliteStore(join(workDir, 'profile.sqlite'));
let writeMs = 0;
const store: Store = Object.assign(Object.create(sqlite) as Store, {
  write: async (batch: Parameters<Store['write']>[0]) => {
    const start = nowMs();
    await sqlite.write(batch);
    writeMs += nowMs() - start;
  },
});

const marks = { entry: 0, baseStart: 0, baseEnd: 0, exit: 0 };
const instrumentedNative: typeof fetch = async (input, init) => {
  marks.baseStart = nowMs();
  const response = await NATIVE_FETCH(input, init);
  marks.baseEnd = nowMs();
  return response;
};
const rec = createRecorder({ store, agent: 'profile', baseFetch: instrumentedNative, flushIntervalMs: 1e9, maxBufferedEvents: 1e9 });
const callerSide: typeof fetch = async (input, init) => {
  marks.entry = nowMs();
  const response = await rec.fetch(input, init);
  marks.exit = nowMs();
  return response;
};
const client = (fetch: typeof globalThis.fetch) => new OpenAI({ baseURL: `${simulator.plainUrl}/v1`, apiKey: 'sk-bench-not-a-key', fetch, maxRetries: 0 });
const plain = client(instrumentedNative);
const recorded = client(callerSide);
const makeRequest = requestFactory(BYTES);

const series: Record<string, number[]> = {};
const note = (name: string, value: number) => {
  series[name] = series[name] ?? [];
  series[name].push(value);
};
let endOfRunMs = 0;

for (let block = 0; block * PER_RUN < ITERATIONS + 100; block++) {
  if (block * PER_RUN === 100) writeMs = 0;
  const driver = openRunDriver(rec, { block });
  for (let i = block * PER_RUN; i < (block + 1) * PER_RUN; i++) {
    const warm = i >= 100;
    for (const variant of ['baseline', 'sdk-in-run', 'retrial'] as const) {
      const call = async (c: OpenAI) => {
        const start = nowMs();
        await c.chat.completions.create(makeRequest(i));
        return nowMs() - start;
      };
      if (variant === 'baseline') {
        const total = await call(plain);
        if (warm) note('baseline: client work (total - network)', total - (marks.baseEnd - marks.baseStart));
        if (warm) note('baseline: total', total);
      } else if (variant === 'sdk-in-run') {
        const total = await driver.inRun(() => call(plain));
        if (warm) note('sdk-in-run: client work (total - network)', total - (marks.baseEnd - marks.baseStart));
      } else {
        const total = await driver.inRun(() => call(recorded));
        if (!warm) continue;
        note('retrial: total', total);
        note('retrial: client work (total - rec.fetch span)', total - (marks.exit - marks.entry));
        note('retrial: rec.fetch before network', marks.baseStart - marks.entry);
        note('retrial: rec.fetch after network', marks.exit - marks.baseEnd);
      }
    }
  }
  const start = nowMs();
  await driver.end();
  if (block * PER_RUN >= 100) endOfRunMs += nowMs() - start;
}

const p50 = (name: string) => summarize(series[name] ?? []).p50;
console.log(`body ${BYTES} B, ${ITERATIONS} calls per variant, source maps ${process.env.PROFILE_SOURCE_MAPS === 'off' ? 'off' : 'as tsx sets them'}, p50 ms:`);
for (const name of Object.keys(series)) console.log(`  ${name.padEnd(48)} ${ms(p50(name))}`);
console.log(
  `  ${'=> SDK clock/random recording (sdk-in-run - baseline client work)'.padEnd(48)} ${ms(p50('sdk-in-run: client work (total - network)') - p50('baseline: client work (total - network)'))}`,
);
console.log(
  `  ${'=> client reading the re-wrapped Response etc. (retrial - sdk-in-run client work)'.padEnd(48)} ${ms(p50('retrial: client work (total - rec.fetch span)') - p50('sdk-in-run: client work (total - network)'))}`,
);
const calls = ITERATIONS - (ITERATIONS % PER_RUN);
console.log(`deferred work per call (run end, mean): ${ms(endOfRunMs / calls)} ms, of which SQLite store.write ${ms(writeMs / calls)} ms`);
if (process.env.PROFILE_MICRO !== 'off') await patchedReadCosts();

/**
 * Cost of one patched read inside a run (recorded) vs outside (passed through), in µs. The
 * openai SDK makes 3 Date.now and 1 Math.random read per call. Math.random names its stream
 * after the call site, which costs a stack capture; with source maps on (tsx turns them on)
 * Node also maps every frame, so it is measured both ways.
 */
async function patchedReadCosts(): Promise<void> {
  const perReadUs = (read: () => unknown, count = 2000) => {
    const start = nowMs();
    for (let i = 0; i < count; i++) read();
    return ((nowMs() - start) * 1000) / count;
  };
  const outside = { dateNow: perReadUs(() => Date.now()), random: perReadUs(() => Math.random()) };
  const inside = await rec.run({ micro: true }, async () => {
    const withMaps = { dateNow: perReadUs(() => Date.now()), random: perReadUs(() => Math.random()) };
    process.setSourceMapsEnabled(false);
    const withoutMaps = { dateNow: perReadUs(() => Date.now()), random: perReadUs(() => Math.random()) };
    process.setSourceMapsEnabled(true);
    return { withMaps, withoutMaps };
  });
  const us = (value: number) => `${value.toFixed(2)} µs`;
  console.log('one patched read (µs per call):');
  console.log(`  outside a run:                     Date.now ${us(outside.dateNow)}, Math.random ${us(outside.random)}`);
  console.log(`  inside a run, source maps on:      Date.now ${us(inside.withMaps.dateNow)}, Math.random ${us(inside.withMaps.random)}`);
  console.log(`  inside a run, source maps off:     Date.now ${us(inside.withoutMaps.dateNow)}, Math.random ${us(inside.withoutMaps.random)}`);
}

await sqlite.close();
await simulator.stop();
rmSync(workDir, { recursive: true, force: true });
