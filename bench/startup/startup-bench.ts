/**
 * How long retrial takes to start, against `node -e 0` in the same run: `retrial --help`,
 * `retrial runs` on a small store, and `import('retrial')` by package name. Each command is a
 * whole process, timed from spawn to exit; the commands take turns round by round, so a change in
 * the machine's speed hits them all alike. Prints medians, ranges and ratios to the node floor,
 * and the goals: --help under 0.3 s, runs under 0.5 s, the import itself under 150 ms.
 *
 * It measures the compiled package (dist/), which it builds first (`npm run build`).
 * Knobs: BENCH_ROUNDS (15), BENCH_WARMUP (2), BENCH_STORE_RUNS (50 runs in the store).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPOSITORY = resolve(import.meta.dirname, '../..');
const BIN = join(REPOSITORY, 'bin/retrial.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const STORE_RUNS = Number(process.env.BENCH_STORE_RUNS ?? 50);

// The children get a user's environment: no RETRIAL_FROM_SOURCE (it would send bin/retrial.js to
// the TypeScript source) and no NODE_OPTIONS from a wrapper (tsx's loader would be inherited).
const env = { ...process.env };
delete env.RETRIAL_FROM_SOURCE;
delete env.NODE_OPTIONS;

function sh(command: string, args: string[], cwd = REPOSITORY): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const commit = sh('git', ['rev-parse', '--short', 'HEAD']).trim();
console.log(`Building dist/ at ${commit} (npm run build)...`);
sh('npm', ['run', '--silent', 'build']);

// A project that depends on retrial, as a user's would: node_modules/retrial links to this
// checkout, so `import('retrial')` goes through the package's exports to dist/.
const work = mkdtempSync(join(tmpdir(), 'retrial-startup-'));
const project = join(work, 'project');
mkdirSync(join(project, 'node_modules'), { recursive: true });
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'startup-bench', private: true, type: 'module' }));
symlinkSync(REPOSITORY, join(project, 'node_modules/retrial'), 'dir');
const store = join(work, 'store.db');
writeFileSync(
  join(project, 'record.mjs'),
  `import { createRecorder, openStore } from 'retrial';
const store = await openStore(${JSON.stringify(store)});
const rec = createRecorder({ store, agent: 'startup-bench', redaction: { salt: 'startup-bench', rules: [] } });
const lookup = rec.tool('lookup', async (id) => ({ id, plan: 'pro' }), { effect: 'read' });
for (let i = 0; i < ${STORE_RUNS}; i++)
  await rec.run({ ticket: 't-' + i }, async (input) => {
    const account = await lookup(input.ticket);
    rec.decide({ type: 'account.action', subject: account.id, value: Math.random() < 0.5 ? 'keep' : 'close' });
    return Date.now();
  }, { externalIds: { ticket: 't-' + i } });
await store.close();
`,
);
console.log(`Recording ${STORE_RUNS} runs into a fresh store...`);
sh(process.execPath, ['record.mjs'], project);

interface Arm {
  name: string;
  args: string[];
  cwd: string;
}
const ARMS: Arm[] = [
  { name: 'node -e 0', args: ['-e', '0'], cwd: project },
  { name: 'retrial --help', args: [BIN, '--help'], cwd: project },
  { name: 'retrial runs', args: [BIN, '--db', store, 'runs'], cwd: project },
  // Prints the import's own duration too, measured inside the process around the import.
  {
    name: "import('retrial')",
    args: ['--input-type=module', '-e', "const t = performance.now(); await import('retrial'); console.log(performance.now() - t);"],
    cwd: project,
  },
  // zod alone: what the first tape or wire-body parse adds once (the import itself loads no zod).
  {
    name: "import('zod')",
    args: ['--input-type=module', '-e', "const t = performance.now(); await import('zod'); console.log(performance.now() - t);"],
    cwd: REPOSITORY,
  },
];

function timeOnce(arm: Arm): { wallMs: number; stdout: string } {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, arm.args, { cwd: arm.cwd, env, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${arm.name} exited ${result.status}: ${result.stderr}`);
  return { wallMs, stdout: result.stdout };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const loadBefore = loadavg()[0] as number;
const walls = new Map(ARMS.map((arm) => [arm.name, [] as number[]]));
const ratios = new Map(ARMS.map((arm) => [arm.name, [] as number[]]));
const inside = new Map<string, number[]>([
  ["import('retrial')", []],
  ["import('zod')", []],
]);
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  let floor = 0;
  for (const arm of ARMS) {
    const { wallMs, stdout } = timeOnce(arm);
    if (round < WARMUP) continue;
    if (arm === ARMS[0]) floor = wallMs;
    walls.get(arm.name)?.push(wallMs);
    ratios.get(arm.name)?.push(wallMs / floor);
    inside.get(arm.name)?.push(Number(stdout.trim()));
  }
}
const loadAfter = loadavg()[0] as number;
rmSync(work, { recursive: true, force: true });

const GOALS: Record<string, number> = { 'retrial --help': 300, 'retrial runs': 500 };
const floorMedian = median(walls.get('node -e 0') as number[]);
console.log(
  `\n${commit}: ${ROUNDS} rounds (after ${WARMUP} warm-up), ${cpus().length} cores, load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; whole-process wall time, ms\n`,
);
console.log(`${'command'.padEnd(20)}${'median'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}${'x node'.padStart(9)}  goal`);
for (const arm of ARMS) {
  const values = walls.get(arm.name) as number[];
  const goal = GOALS[arm.name];
  const verdict = goal === undefined ? '' : `${median(values) < goal ? 'MET' : 'MISS'} (< ${goal} ms)`;
  console.log(
    `${arm.name.padEnd(20)}${median(values).toFixed(0).padStart(8)}${Math.min(...values)
      .toFixed(0)
      .padStart(8)}${Math.max(...values)
      .toFixed(0)
      .padStart(8)}${median(ratios.get(arm.name) as number[])
      .toFixed(2)
      .padStart(9)}  ${verdict}`,
  );
}
const importWall = median(walls.get("import('retrial')") as number[]);
const importInside = median(inside.get("import('retrial')") as number[]);
console.log(
  `\nimport('retrial') itself: ${importInside.toFixed(0)} ms measured inside the process (median), ${(importWall - floorMedian).toFixed(0)} ms over node -e 0: ${importInside < 150 ? 'MET' : 'MISS'} (< 150 ms); zod, which it leaves to the first parse, loads alone in ${median(inside.get("import('zod')") as number[]).toFixed(0)} ms`,
);
console.log("x node: the median of each round's ratio to that round's node -e 0.");
