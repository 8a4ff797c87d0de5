/**
 * How a store behaves as it grows. Fills a store with runs of the demo's shape (cloned from a
 * recorded demo store with new ids and times, bench/scale/synthesize-runs.ts) up to each size in
 * turn, and at each size times a filtered `runs` page and its count for every filter,
 * `decisions --type --since`, and loading one run for replay, and reports bytes per run. Goals:
 * list and load p95 under 50 ms, flat with growth.
 *
 *   npx tsx bench/scale/scale-bench.ts [--source demo.db] [--db target] [--sizes 20000,100000,200000]
 *                                      [--rounds 40] [--json out.json]
 *
 * --source: a store recorded by `retrial demo` (made with `retrial demo --db <it>` when missing).
 * --db: the store to grow, a SQLite path or (where the build has it) a postgres:// URL; default a
 *   new file in the temp directory. Runs already there count toward the sizes, so a store grown to
 *   100,000 by an earlier run grows on to 200,000.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore, type Store } from '../../src/store/index.ts';
import { measureQueries, type QueryTiming } from './measure-queries.ts';
import { readSourceRuns, type SourceRun, synthesizeRuns } from './synthesize-runs.ts';

const REPOSITORY = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    db: { type: 'string' },
    sizes: { type: 'string', default: '20000,100000,200000' },
    rounds: { type: 'string', default: '40' },
    json: { type: 'string' },
  },
});
const work = mkdtempSync(join(tmpdir(), 'retrial-scale-'));
const sourcePath = resolve(values.source ?? join(work, 'demo.db'));
const target = values.db ?? join(work, 'scale.db');
const sizes = (values.sizes ?? '').split(',').map(Number);
const rounds = Number(values.rounds);

if (!existsSync(sourcePath)) {
  console.log(`Recording the demo's 2,000 runs into ${sourcePath} (retrial demo)...`);
  execFileSync(process.execPath, [join(REPOSITORY, 'bin/retrial.js'), 'demo', '--db', sourcePath, '--json'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RETRIAL_FROM_SOURCE: '1' },
  });
}

// Not readonly: a source recorded by an older retrial is migrated first (a readonly open refuses it).
const source = await openStore(sourcePath, { create: false });
const { runs: sources, window } = await readSourceRuns(source);
const sourceStats = await source.stats();
await source.close();
console.log(`Source ${sourcePath}: ${sources.length} unforked runs, ${sourceStats.fileBytes?.toLocaleString('en-US')} bytes on disk.`);

function parametersOf(runIds: string[], allSources: readonly SourceRun[]) {
  // Clones are numbered from 0; the source runs themselves are the rest of the store.
  const clones = Math.max(1, runIds.length - allSources.length);
  const decision = allSources.flatMap((run) => run.bundle.decisions).find((row) => row.type === 'refund.category');
  const models = allSources.flatMap((run) => run.bundle.modelsServed);
  return {
    agent: allSources[0]?.bundle.run.header.agent ?? 'support-agent',
    // Customers of clones (C-S<n>) and tickets, spread over the clones made so far.
    subjects: Array.from({ length: 50 }, (_, k) => (k % 2 ? `C-S${(k * 523) % Math.min(25_000, clones)}` : `T-S${(k * 1009) % clones}`)),
    decisionType: decision?.type ?? 'refund.category',
    decisionValue: decision?.value ?? 'deny',
    modelServed: models[0] ?? '',
    endAt: window.endAt,
    runIds: Array.from({ length: 200 }, (_, k) => runIds[(k * 7919) % runIds.length] as string),
  };
}

interface SizeResult {
  runs: number;
  buildSeconds: number;
  fileBytes: number | null;
  bytesPerRun: number | null;
  /** File growth per added run since the previous size (events, pack, index rows; blobs shared). */
  marginalBytesPerRun: number | null;
  timings: QueryTiming[];
  loadAverage: number[];
}

const results: SizeResult[] = [];
let store: Store = await openStore(target);
try {
  let previous: { runs: number; fileBytes: number | null } | null = null;
  for (const size of sizes) {
    const present = await store.countRuns({});
    const started = performance.now();
    const toClone = Math.max(0, size - Math.max(present, sources.length));
    if (toClone > 0) {
      const from = Math.max(0, present - sources.length);
      console.log(`Growing ${target} from ${present.toLocaleString('en-US')} to ${size.toLocaleString('en-US')} runs...`);
      await synthesizeRuns({
        target: store,
        sources,
        window,
        from,
        to: from + toClone,
        onProgress: (done, total) => {
          if (done % 10_000 === 0) console.log(`  ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
        },
      });
    }
    const buildSeconds = (performance.now() - started) / 1000;
    // A fresh connection, as a CLI command has: nothing cached from the build.
    await store.close();
    store = await openStore(target);
    const stats = await store.stats();
    const runIds = await store.listRunIds();
    const timings = await measureQueries(store, parametersOf(runIds, sources), rounds);
    const fileBytes = stats.fileBytes;
    const marginal =
      previous && fileBytes !== null && previous.fileBytes !== null && stats.runs > previous.runs
        ? (fileBytes - previous.fileBytes) / (stats.runs - previous.runs)
        : null;
    results.push({
      runs: stats.runs,
      buildSeconds,
      fileBytes,
      bytesPerRun: fileBytes === null ? null : fileBytes / stats.runs,
      marginalBytesPerRun: marginal,
      timings,
      loadAverage: loadavg(),
    });
    previous = { runs: stats.runs, fileBytes };
    console.log(
      `${stats.runs.toLocaleString('en-US')} runs (built in ${buildSeconds.toFixed(0)} s, load ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')})`,
    );
  }
} finally {
  await store.close();
}

const names = results[0]?.timings.map((timing) => timing.name) ?? [];
const header = ['query (p95 ms; p50 in brackets)', ...results.map((result) => `${result.runs.toLocaleString('en-US')} runs`)];
const rows = names.map((name) => [
  name,
  ...results.map((result) => {
    const timing = result.timings.find((entry) => entry.name === name);
    return timing ? `${timing.p95.toFixed(1)} (${timing.p50.toFixed(1)}) [${timing.rows}]` : '';
  }),
]);
rows.push([
  'bytes per run (file / runs)',
  ...results.map((result) => (result.bytesPerRun === null ? 'n/a' : Math.round(result.bytesPerRun).toLocaleString('en-US'))),
]);
rows.push([
  'bytes per added run',
  ...results.map((result) => (result.marginalBytesPerRun === null ? '—' : Math.round(result.marginalBytesPerRun).toLocaleString('en-US'))),
]);
rows.push(['build time (s)', ...results.map((result) => result.buildSeconds.toFixed(0))]);
const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => (row[column] ?? '').length)));
const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
console.log(
  `\nStore ${target}; [n] rows returned; source bytes per run ${Math.round((sourceStats.fileBytes ?? 0) / sourceStats.runs).toLocaleString('en-US')}`,
);
console.log([line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n'));
if (values.json) writeFileSync(values.json, `${JSON.stringify({ target, source: sourcePath, results }, null, 2)}\n`);
