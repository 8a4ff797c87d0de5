/**
 * `npm run bench:backfill`: decisions per second through retrial's backfill pipeline, in one run on
 * this machine. Prints:
 *   1. the recorded history (demo tickets recorded through the real recorder into a fresh SQLite
 *      file) and how many of its refund.category decisions are eligible;
 *   2. every arm's passes, in interleaved rounds (see rounds.ts): the engine with the simulator
 *      answering instantly in this process (plan, run, compare), the simulator alone on the same
 *      request bodies (a floor), the engine with 200 ms of model latency at concurrency 32, and a
 *      naive script (loadTape + describeStep + the openai client) as the peer;
 *   3. a CPU profile of one engine pass when the 2,000 decisions/s target is missed (or BENCH_PROFILE=1);
 *   4. a markdown summary table with the target lines.
 * It is a benchmark, not a test: it exits 0 even when a target is missed (the line says MISS).
 * Knobs (environment): BENCH_RUNS (2000 tickets recorded), BENCH_ROUNDS (3), BENCH_PROFILE (1/0).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCampaign } from '../../src/backfill/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { ms, nowMs } from '../record/percentiles.ts';
import { profileEnginePass, profileSection } from './backfill-profile.ts';
import { type EnginePass, enginePass, runDecisionsPerSecond } from './engine-arm.ts';
import { DECISION_TYPE, recordHistory } from './history.ts';
import { LATENCY_CONCURRENCY, LATENCY_MS, latencyPass } from './latency-arm.ts';
import { NAIVE_MAPPING, naivePass } from './naive-arm.ts';
import { runRounds } from './rounds.ts';
import { prepareFloorBodies, simulatorFloorPass } from './simulator-floor.ts';
import { loadLine, machineLine, summaryTable, TARGET_DECISIONS_PER_SECOND } from './summary.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PROFILE = process.env.BENCH_PROFILE;

const started = nowMs();
const loadBefore = loadLine();
const machine = machineLine();
const workDir = mkdtempSync(join(tmpdir(), 'retrial-backfill-bench-'));
const dbPath = join(workDir, 'history.sqlite');

try {
  console.log('# retrial backfill benchmark');
  console.log(`machine: ${machine}; load average ${loadBefore}`);
  console.log(`store: ${dbPath}; model: the simulator, answered in this process (createSimulatorFetch), no socket\n`);

  const recordingStore = await openSqliteStore(dbPath);
  let history: Awaited<ReturnType<typeof recordHistory>>;
  try {
    history = await recordHistory(recordingStore, RUNS);
  } finally {
    await recordingStore.close();
  }
  const refunds = history.decisions.filter((row) => row.type === DECISION_TYPE);
  const refundCount = refunds.reduce((sum, row) => sum + row.count, 0);
  console.log(
    `recorded ${history.runs} demo tickets (${history.failedRuns} failed) in ${(history.recordMs / 1000).toFixed(1)} s, concurrency 16, simulator over loopback HTTP; SQLite file ${history.fileBytes.toLocaleString('en-US')} B`,
  );
  console.log(
    `decisions: ${history.decisions.map((row) => `${row.type}=${row.value} ${row.count}`).join(', ')}; ${refundCount} ${DECISION_TYPE} (${refunds.map((row) => `${row.value} ${row.count}`).join(', ')})`,
  );

  // Reopened as the CLI's `retrial backfill` would open it: a fresh connection, nothing cached.
  const store = await openSqliteStore(dbPath);
  try {
    const { window } = history;
    let seeds = 0;
    const seed = () => `backfill-bench-${++seeds}`;

    // One reference campaign, planned as the engine arm plans: its selection and bodies feed the floor and the peer.
    const reference = (await enginePass({ store, window, seed: seed(), concurrency: 16 })) as EnginePass;
    const campaign = await loadCampaign(store, reference.campaignId);
    const { plan } = campaign;
    console.log(
      `plan: population ${plan.population}, eligible ${plan.eligible}, selected ${plan.selected}, noise floor ${plan.noiseFloor}, ${plan.chunks} chunks of ${plan.chunkSize}, ${plan.estimate.requests} requests; excluded ${plan.excluded.map((row) => `${row.reason} ${row.count}`).join(', ') || 'none'}`,
    );
    const sameMapping = (a: Record<string, string>, b: Record<string, string>) =>
      Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([tool, value]) => b[tool] === value);
    console.log(
      `mapping inferred by the plan: ${JSON.stringify(plan.mapping)}${sameMapping(plan.mapping, NAIVE_MAPPING) ? ' (the naive script hard-codes the same)' : ` (the naive script hard-codes ${JSON.stringify(NAIVE_MAPPING)})`}`,
    );
    const floorBodies = await prepareFloorBodies(store, campaign);
    const naiveDecisions = campaign.items.map(({ item }) => ({ decisionId: item.decisionId, runId: item.runId, seq: item.seq }));

    console.log(`\n### Passes: one warm-up pass per arm, then ${ROUNDS} interleaved rounds; every engine pass plans a fresh campaign on the same store`);
    const results = await runRounds(
      [
        { name: 'engine', pass: () => enginePass({ store, window, seed: seed(), concurrency: 16 }) },
        { name: 'floor', pass: () => simulatorFloorPass(floorBodies, seed()) },
        { name: `latency ${LATENCY_MS} ms x${LATENCY_CONCURRENCY}`, pass: () => latencyPass(store, window, seed()) },
        { name: 'naive', pass: () => naivePass(store, naiveDecisions, seed()) },
      ],
      ROUNDS,
      (line) => console.log(line),
    );
    const arm = (name: string) => {
      const found = [...results].find(([key]) => key.startsWith(name));
      if (!found) throw new Error(`no arm ${name}`);
      return found[1];
    };

    const engineRate = runDecisionsPerSecond(arm('engine').median as EnginePass);
    if (PROFILE === '1' || (engineRate < TARGET_DECISIONS_PER_SECOND && PROFILE !== '0')) {
      const profile = await profileEnginePass({ store, window, seed: seed(), concurrency: 16 }, tmpdir());
      console.log(`\n${profileSection(profile)}`);
    }

    const loadAfter = loadLine();
    console.log('\n## Summary (paste into bench/backfill/README.md)\n');
    console.log(
      summaryTable({
        engine: arm('engine'),
        floor: arm('floor'),
        latency: arm('latency'),
        naive: arm('naive'),
        rounds: ROUNDS,
        machine,
        loadBefore,
        loadAfter,
        history: `${history.runs} demo tickets recorded into SQLite; ${refundCount} ${DECISION_TYPE} decisions, ${plan.eligible} eligible, all selected, incumbent noise floor on ${plan.noiseFloor}`,
      }),
    );
  } finally {
    await store.close();
  }
  console.log(`\nfinished in ${((nowMs() - started) / 1000).toFixed(1)} s (recording ${ms(history.recordMs / 1000)} s)`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
