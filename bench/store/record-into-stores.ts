/**
 * Recording throughput into SQLite and into PostgreSQL, same workload, same run of this script:
 * `processes` processes each record `runs` runs, three at a time, each run with a shared policy
 * read (one blob for all), a lookup, a write tool (which waits for durability) and a decision.
 * Prints events per second for each store (wall time from the first process's start to the last
 * process's end, including opening the store), and bytes per run after packing.
 *
 *   RETRIAL_BENCH_PG=postgres://postgres@127.0.0.1:55499/some_empty_database \
 *     node --import tsx bench/store/record-into-stores.ts [processes=4] [runs=100]
 *
 * The PostgreSQL database is emptied first (its tables are dropped): give it one of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';

const processes = Number(process.argv[2] ?? 4);
const runs = Number(process.argv[3] ?? 100);
const postgresUrl = process.env.RETRIAL_BENCH_PG;
if (!postgresUrl) throw new Error('Set RETRIAL_BENCH_PG to the URL of an empty PostgreSQL database of the benchmark.');

function recordProcess(location: string, worker: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../../test/fixtures/record-fleet.ts'), location, worker, String(runs)],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`recording process ${worker} exited ${status}`))));
  });
}

async function measure(name: string, location: string): Promise<void> {
  const started = performance.now();
  await Promise.all(Array.from({ length: processes }, (_, index) => recordProcess(location, `w${index}`)));
  const seconds = (performance.now() - started) / 1000;
  const store = await openStore(location);
  const stats = await store.stats();
  await store.close();
  const load = loadavg()[0]?.toFixed(1);
  console.log(
    `${name.padEnd(10)} ${stats.runs} runs, ${stats.events} events in ${seconds.toFixed(1)} s: ${Math.round(stats.events / seconds)} events/s; ` +
      `content ${Math.round(stats.contentBytesStored / stats.runs)} bytes/run stored (raw ${Math.round((stats.eventBytesRaw + stats.blobBytesRaw) / stats.runs)}); load ${load}`,
  );
}

const directory = mkdtempSync(join(tmpdir(), 'retrial-bench-store-'));
try {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  await client.end();
  console.log(`${processes} processes x ${runs} runs each (3 in flight per process)`);
  await measure('sqlite', join(directory, 'bench.db'));
  await measure('postgres', postgresUrl);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
