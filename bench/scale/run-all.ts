/**
 * `npm run bench:scale`: the scale figures in one run, each part the bench that owns it,
 * run in order as a child process (its own output, then the next):
 *
 *   growth-sqlite    bench/scale/scale-bench.ts into a new SQLite file
 *   growth-postgres  the same into PostgreSQL; past the first size the store is grown by copying
 *                    its clones in SQL (bench/scale/amplify-postgres.ts: the Store path imports about
 *                    20 runs a second into PostgreSQL on a shared 2-core box), then measured
 *   record           bench/store/record-into-stores.ts: events per second into SQLite and PostgreSQL
 *   collector        bench/record/collector-throughput.ts: straight in and through `retrial server`,
 *                    SQLite and PostgreSQL
 *   workers          bench/scale/backfill-workers.ts: 1, 2 and 4 workers at 100 ms model latency
 *
 *   npm run bench:scale -- [--parts growth-sqlite,growth-postgres,record,collector,workers]
 *                          [--pg postgres://...] [--sizes 20000,100000,200000] [--rounds 40] [--source demo.db]
 *
 * --pg: a server to use (a database is created on it per part, named retrial_bench_<part>_<n>, and
 * dropped after); without it a throwaway PostgreSQL cluster is started in a temp directory (as
 * scripts/test-all.sh does) and stopped at the end. The demo store the growth parts clone is
 * recorded once (`retrial demo`) unless --source names one. Load average is printed between parts:
 * read the figures with it on a shared machine. A part that fails is reported and the rest run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type OwnPostgres, startOwnPostgres } from '../../test/fixtures/own-postgres.ts';

const PARTS = ['growth-sqlite', 'growth-postgres', 'record', 'collector', 'workers'] as const;
type Part = (typeof PARTS)[number];

const REPOSITORY = resolve(import.meta.dirname, '../..');
const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: PARTS.join(',') },
    pg: { type: 'string' },
    sizes: { type: 'string', default: '20000,100000,200000' },
    rounds: { type: 'string', default: '40' },
    source: { type: 'string' },
  },
});
const parts = (values.parts ?? '').split(',').map((part) => part.trim()) as Part[];
for (const part of parts) if (!PARTS.includes(part)) throw new Error(`Unknown part "${part}": pick among ${PARTS.join(', ')}.`);
const sizes = (values.sizes ?? '').split(',').map(Number);
const work = mkdtempSync(join(tmpdir(), 'retrial-bench-scale-'));
const source = resolve(values.source ?? join(work, 'demo.db'));
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Runs a bench script under tsx with the output shown; true when it exited 0. */
function tsx(script: string, args: string[], env: Record<string, string> = {}): boolean {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPOSITORY, script), ...args], {
    cwd: REPOSITORY,
    stdio: 'inherit',
    env: { ...process.env, RETRIAL_FROM_SOURCE: '1', ...env },
  });
  return result.status === 0;
}

let server: OwnPostgres | undefined;
let serverUrl = values.pg;
const databases: string[] = [];
async function admin<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}
/** A new empty database for one part, on the given server or the throwaway cluster. */
async function database(part: string): Promise<string> {
  if (serverUrl === undefined) {
    console.log('Starting a throwaway PostgreSQL cluster...');
    server = await startOwnPostgres();
    serverUrl = server.url('postgres');
  }
  const name = `retrial_bench_${part.replace(/-/g, '_')}_${process.pid}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  databases.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const outcomes: Array<{ part: Part; ok: boolean; seconds: number; loadBefore: string; loadAfter: string }> = [];
try {
  for (const part of parts) {
    const loadBefore = load();
    console.log(`\n=== ${part} (load average ${loadBefore}) ===`);
    const started = performance.now();
    let ok = false;
    const growth = ['--source', source, '--rounds', values.rounds ?? '40'];
    if (part === 'growth-sqlite') ok = tsx('bench/scale/scale-bench.ts', [...growth, '--db', join(work, 'scale.db'), '--sizes', sizes.join(',')]);
    if (part === 'growth-postgres') {
      const url = await database(part);
      ok = tsx('bench/scale/scale-bench.ts', [...growth, '--db', url, '--sizes', String(sizes[0])]);
      for (const size of sizes.slice(1)) {
        if (!ok) break;
        ok =
          tsx('bench/scale/amplify-postgres.ts', ['--db', url, '--to', String(size)]) &&
          tsx('bench/scale/scale-bench.ts', [...growth, '--db', url, '--sizes', String(size)]);
      }
    }
    if (part === 'record') ok = tsx('bench/store/record-into-stores.ts', [], { RETRIAL_BENCH_PG: await database(part) });
    if (part === 'collector') ok = tsx('bench/record/collector-throughput.ts', [], { BENCH_PG: await database(part) });
    if (part === 'workers') ok = tsx('bench/scale/backfill-workers.ts', []);
    outcomes.push({ part, ok, seconds: (performance.now() - started) / 1000, loadBefore, loadAfter: load() });
  }
} finally {
  if (serverUrl !== undefined && server === undefined)
    for (const name of databases) await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
  await server?.destroy();
}
console.log('\n=== bench:scale ===');
for (const outcome of outcomes)
  console.log(
    `${outcome.part.padEnd(16)} ${outcome.ok ? 'done  ' : 'FAILED'} ${outcome.seconds.toFixed(0).padStart(5)} s   load ${outcome.loadBefore} -> ${outcome.loadAfter}`,
  );
if (outcomes.some((outcome) => !outcome.ok)) process.exitCode = 1;
