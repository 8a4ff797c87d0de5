/**
 * `npm run bench:replay`: how fast retrial reproduces recorded runs, next to re-running them
 * live over HTTP and to a well-known HTTP record/replay library (Polly.js), in one run on this
 * machine. Prints:
 *   1. what a recorded run contains, and which runs are replayed (the most common shape);
 *   2. every arm's passes, each arm in a process of its own (arm-child.ts), in interleaved rounds
 *      (see rounds.ts): retrial's strict replays from SQLite (each pass with cold caches), with
 *      one replayer per pass and with replayRun per run, loadTape alone, the tickets re-run live over
 *      loopback HTTP, Polly.js replaying their HTTP calls, and the agent code alone over canned
 *      responses (a floor);
 *   3. how a replay's time splits (loadTape phases, packs inflated);
 *   4. a CPU profile of the replay loop when the target is missed (or BENCH_PROFILE=1);
 *   5. a markdown summary table with the target line.
 * It is a benchmark, not a test: it exits 0 even when the target is missed (the line says MISS).
 * Knobs (environment): BENCH_RUNS (300 tickets recorded), BENCH_WARMUP_ROUNDS (6), BENCH_ROUNDS (3),
 * BENCH_PROFILE (1/0).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.ts';
import { nowMs } from '../record/percentiles.ts';
import { startSimulatorProcess } from '../record/simulator-process.ts';
import { type ArmSpec, withArmProcesses } from './arm-process.ts';
import { captureCannedResponses } from './canned-floor.ts';
import { recordCorpus } from './demo-corpus.ts';
import { measureLoadTapePhases } from './load-tape-phases.ts';
import { measurePackStats, packStatsLine } from './pack-stats.ts';
import { POLLY_REPLAY_NAME, recordPollyRuns } from './polly-arm.ts';
import { profileSection } from './replay-profile.ts';
import { type ArmPasses, runRounds } from './rounds.ts';
import { describeRunShapes, shapeSection } from './run-shape.ts';
import { bestPassLine, machineLine, passLine, perSecond, splitSection, summaryTable, TARGET_REPLAYS_PER_SECOND } from './summary.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP_ROUNDS ?? 6);
const PROFILE = process.env.BENCH_PROFILE;

const started = nowMs();
const machine = machineLine();
const workDir = mkdtempSync(join(tmpdir(), 'retrial-replay-bench-'));
const simulator = await startSimulatorProcess({ chunkDelayMs: 0, seed: 'replay-bench' });
let simulatorUp = true;

try {
  console.log('# retrial replay benchmark');
  console.log(`machine: ${machine}`);
  console.log(`simulator: loopback, own process (${simulator.plainUrl}); store: ${workDir}/corpus.sqlite`);
  console.log(`peer: ${POLLY_REPLAY_NAME}\n`);

  const corpus = await recordCorpus({ dbPath: join(workDir, 'corpus.sqlite'), simulatorUrl: simulator.plainUrl, runs: RUNS });
  console.log(
    `recorded ${corpus.runs.length} demo tickets (${corpus.failedRuns} failed) in ${(corpus.recordMs / 1000).toFixed(1)} s, concurrency 16; SQLite file ${corpus.fileBytes.toLocaleString('en-US')} B\n`,
  );

  // Reopened as the CLI's `retrial replay` would open it: a fresh connection, nothing cached.
  const store = await openSqliteStore(corpus.dbPath);
  try {
    const shapes = await describeRunShapes(store, corpus.runs);
    console.log(`${shapeSection(shapes, corpus.runs.length)}\n`);
    const runs = shapes.typical;
    const runIds = runs.map((run) => run.runId);
    const channels = runs.map((run) => run.scheduled.ticket.channel);

    // Inputs of the peer and floor arms, made while the simulator is up.
    const pollyDir = join(workDir, 'polly');
    mkdirSync(pollyDir);
    console.log(passLine(`Polly record pass (mode record, one HAR per run, ${pollyDir})`, await recordPollyRuns(runs, pollyDir, simulator.plainUrl), channels));
    const canned = await captureCannedResponses(runs, simulator.plainUrl);

    console.log(
      `\n### Passes: ${runs.length} runs each, one arm at a time, each in its own process; ${WARMUP_ROUNDS} untimed warm-up rounds, then ${ROUNDS} timed rounds`,
    );
    const specs: ArmSpec[] = [
      { arm: 'retrial', dbPath: corpus.dbPath, runIds },
      { arm: 'retrial-per-run', dbPath: corpus.dbPath, runIds },
      { arm: 'retrial-again', dbPath: corpus.dbPath, runIds },
      { arm: 'loadTape', dbPath: corpus.dbPath, runIds },
      { arm: 'live', runs, modelBaseUrl: `${simulator.plainUrl}/v1` },
      { arm: 'polly', runs, pollyDir, simulatorUrl: simulator.plainUrl },
      { arm: 'floor', runs, canned },
    ];
    const { results, profile } = await withArmProcesses(specs, async (armOf) => {
      const arms = specs.map((spec) => ({ name: spec.arm, pass: () => armOf(spec.arm).pass() }));
      const results = await runRounds(arms, { warmup: WARMUP_ROUNDS, timed: ROUNDS }, channels, (line) => console.log(line));
      console.log(`events served per replay: ${((results.get('retrial') as ArmPasses).median.served / runs.length).toFixed(1)}`);
      await simulator.stop();
      simulatorUp = false;
      console.log(passLine('Polly replay once more with the simulator stopped', await armOf('polly').pass(), channels));
      const missed = perSecond((results.get('retrial') as ArmPasses).median) < TARGET_REPLAYS_PER_SECOND;
      const profile = PROFILE === '1' || (missed && PROFILE !== '0') ? await armOf('retrial').profile(tmpdir()) : null;
      return { results, profile };
    });
    const median = (name: string) => (results.get(name) as ArmPasses).median;

    const phases = await measureLoadTapePhases(corpus.dbPath, runIds);
    console.log(`\n${splitSection(median('retrial'), median('loadTape'), phases)}`);
    console.log(`${packStatsLine(measurePackStats(corpus.dbPath, phases.blobRefsByRun))}\n`);
    if (profile) console.log(`${profileSection(profile)}\n`);

    console.log('## Summary (paste into bench/replay/README.md)\n');
    const arms4 = {
      retrial: median('retrial'),
      retrialPerRun: median('retrial-per-run'),
      retrialAgain: median('retrial-again'),
      live: median('live'),
      polly: median('polly'),
      floor: median('floor'),
    };
    const runLabel = `${runs.length} demo runs of one shape (${shapes.typicalSignature}); each figure is the median of ${ROUNDS} interleaved passes`;
    console.log(summaryTable(arms4, channels, runLabel, machine));
    console.log(bestPassLine(new Map([...results].map(([name, passes]) => [name, passes.timed]))));
  } finally {
    await store.close();
  }
  console.log(`\nfinished in ${((nowMs() - started) / 1000).toFixed(1)} s`);
} finally {
  if (simulatorUp) await simulator.stop();
  rmSync(workDir, { recursive: true, force: true });
}
