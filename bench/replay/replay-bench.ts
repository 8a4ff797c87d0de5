/**
 * `npm run bench:replay`: how fast retrial reproduces recorded runs, next to re-running them
 * live over HTTP and to a well-known HTTP record/replay library (Polly.js), in one run on this
 * machine. Prints:
 *   1. what a recorded run contains, and which runs are replayed (the most common shape);
 *   2. strict replays per second from SQLite, with the loadTape / agent split;
 *   3. the same tickets re-run live against the simulator over loopback HTTP;
 *   4. the same runs' HTTP calls replayed by Polly.js;
 *   5. a reference floor: the agent code alone over canned in-memory responses;
 *   6. a what-if: retrial and the floor with zero-delay timers run as setImmediate;
 *   7. a CPU profile of the replay loop when the target is missed (or BENCH_PROFILE=1);
 *   8. a markdown summary table with the target line.
 * It is a benchmark, not a test: it exits 0 even when the target is missed (the line says MISS).
 * Knobs (environment): BENCH_RUNS (300 tickets recorded), BENCH_PROFILE (1 always, 0 never).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/index.ts';
import { nowMs } from '../record/percentiles.ts';
import { startSimulatorProcess } from '../record/simulator-process.ts';
import { captureCannedResponses, measureCannedFloor } from './canned-floor.ts';
import { recordCorpus } from './demo-corpus.ts';
import { measureLiveArm } from './live-arm.ts';
import { measureLoadTapePhases } from './load-tape-phases.ts';
import { measurePackStats, packStatsLine } from './pack-stats.ts';
import { measurePollyReplay, POLLY_REPLAY_NAME, recordPollyRuns } from './polly-arm.ts';
import { profileReplayLoop, profileSection } from './replay-profile.ts';
import { measureRetrialArm, replayPass } from './retrial-arm.ts';
import { counted, describeRunShapes, shapeSection } from './run-shape.ts';
import { machineLine, passLine, perSecond, splitSection, summaryTable, TARGET_REPLAYS_PER_SECOND } from './summary.ts';
import { withZeroDelayTimersAsImmediate } from './zero-delay-timers.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const PROFILE = process.env.BENCH_PROFILE;

const started = nowMs();
const machine = machineLine();
const workDir = mkdtempSync(join(tmpdir(), 'retrial-replay-bench-'));
const simulator = await startSimulatorProcess({ chunkDelayMs: 0, seed: 'replay-bench' });
let simulatorUp = true;

try {
  console.log('# retrial replay benchmark');
  console.log(`machine: ${machine}`);
  console.log(`simulator: loopback, own process (${simulator.plainUrl}); store: ${workDir}/corpus.sqlite\n`);

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
    const runLabel = `${runs.length} demo runs of one shape (${shapes.typicalSignature})`;

    console.log(`### retrial: strict replayRun from SQLite, sequential, ${runs.length} runs`);
    const retrial = await measureRetrialArm(store, runIds);
    console.log(passLine('warm-up pass', retrial.warmup, channels));
    console.log(passLine('timed pass (warm)', retrial.timed, channels));
    console.log(`events served per replay: ${(retrial.timed.served / runs.length).toFixed(1)}`);
    console.log(passLine('loadTape alone (warm)', retrial.loadTape, channels));
    const phases = await measureLoadTapePhases(store, runIds);
    console.log(`\n${splitSection(retrial.timed, retrial.loadTape, phases)}`);
    console.log(`${packStatsLine(measurePackStats(corpus.dbPath, phases.blobRefsByRun))}\n`);

    console.log(`### live: the same tickets, same agent code, pass-through recorder, simulator over loopback HTTP`);
    const live = await measureLiveArm(runs, simulator.plainUrl);
    console.log(passLine('warm-up pass', live.warmup, channels));
    console.log(passLine('timed pass (warm)', live.timed, channels));
    console.log(`model calls per run in the timed pass: ${counted(live.timed.modelCallsPerRun)} (the recording had 3 each)`);
    console.log(`calls in the timed pass: ${JSON.stringify(live.timed.counts)}\n`);

    const canned = await captureCannedResponses(runs, simulator.plainUrl);

    console.log(`### peer: ${POLLY_REPLAY_NAME}`);
    const pollyDir = join(workDir, 'polly');
    mkdirSync(pollyDir);
    const pollyRecord = await recordPollyRuns(runs, pollyDir, simulator.plainUrl);
    console.log(passLine('record pass (mode record, simulator up)', pollyRecord));
    await simulator.stop();
    simulatorUp = false;
    console.log('simulator stopped: from here on any request Polly does not serve fails');
    const polly = await measurePollyReplay(runs, pollyDir, simulator.plainUrl);
    console.log(passLine('warm-up pass', polly.warmup, channels));
    console.log(passLine('timed pass (warm)', polly.timed, channels));
    console.log(`model calls per run in the timed pass: ${counted(polly.timed.modelCallsPerRun)}\n`);

    console.log('### reference floor: the agent code alone, HTTP responses canned in memory (captured from the simulator)');
    const floor = await measureCannedFloor(runs, canned);
    console.log(passLine('warm-up pass', floor.warmup, channels));
    console.log(`${passLine('timed pass (warm)', floor.timed, channels)}\n`);

    console.log('### what-if: zero-delay timers run as setImmediate (a bench-only patch, see zero-delay-timers.ts)');
    const retrialImmediate = await withZeroDelayTimersAsImmediate(() => replayPass(store, runIds));
    const floorImmediate = (await withZeroDelayTimersAsImmediate(() => measureCannedFloor(runs, canned))).timed;
    console.log(passLine('retrial strict replay', retrialImmediate, channels));
    console.log(`${passLine('reference floor', floorImmediate, channels)}\n`);

    const missed = perSecond(retrial.timed) < TARGET_REPLAYS_PER_SECOND;
    if (PROFILE === '1' || (missed && PROFILE !== '0')) {
      const profile = await profileReplayLoop(store, runIds, tmpdir());
      console.log(`${profileSection(profile)}\n`);
    }

    console.log('## Summary (paste into bench/replay/README.md)\n');
    console.log(
      summaryTable(
        { retrial: retrial.timed, live: live.timed, polly: polly.timed, floor: floor.timed, retrialImmediate, floorImmediate },
        channels,
        runLabel,
        machine,
      ),
    );
  } finally {
    await store.close();
  }
  console.log(`\nfinished in ${((nowMs() - started) / 1000).toFixed(1)} s`);
} finally {
  if (simulatorUp) await simulator.stop();
  rmSync(workDir, { recursive: true, force: true });
}
