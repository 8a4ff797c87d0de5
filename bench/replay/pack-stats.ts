/**
 * Why loadTape inflates so much: the packs a replayed run's events and blobs live in.
 *
 * The SQLite store deflates each write batch as one "pack", with the previous pack as preset
 * dictionary (chains up to 16 long), and keeps the last 64 inflated packs in memory
 * (src/store/sqlite/sqlite-packing.ts). Reading one run therefore inflates every pack it touches
 * plus those packs' dictionary chains, unless they are cached. This reads the file directly
 * (readonly, its own connection) to count, for the replayed runs, how many packs that is and how
 * long inflating them takes with nothing cached. It reads store internals on purpose, to explain
 * a figure, not to measure the product; if the schema changes it reports that and moves on.
 */
import { inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { nowMs, summarize } from '../record/percentiles.ts';

const DICTIONARY_BYTES = 32 * 1024;

export interface PackStats {
  packsInFile: number;
  meanPackRawBytes: number;
  /** Per replayed run: distinct packs holding its events or blobs. */
  packsReferenced: number[];
  /** Per replayed run: those packs plus their dictionary chains (what a cold read inflates). */
  packsToInflate: number[];
  /** Per replayed run: time to inflate `packsToInflate` with no cache, ms. */
  coldInflateMs: number[];
}

export function measurePackStats(dbPath: string, blobRefsByRun: ReadonlyMap<string, readonly string[]>): PackStats | string {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const totals = db.prepare('SELECT COUNT(*) AS n, COALESCE(AVG(size), 0) AS raw FROM packs').get() as { n: number; raw: number };
    const eventPacks = db.prepare('SELECT DISTINCT pack_id FROM events WHERE run_id = ? AND pack_id IS NOT NULL').pluck();
    const blobPacks = db.prepare('SELECT DISTINCT pack_id FROM blobs WHERE hash IN (SELECT unhex(value) FROM json_each(?)) AND pack_id IS NOT NULL').pluck();
    const packRow = db.prepare('SELECT data, dictionary_pack_id FROM packs WHERE pack_id = ?');
    const stats: PackStats = { packsInFile: totals.n, meanPackRawBytes: totals.raw, packsReferenced: [], packsToInflate: [], coldInflateMs: [] };
    for (const [runId, refs] of blobRefsByRun) {
      const referenced = new Set<number>([...(eventPacks.all(runId) as number[]), ...(blobPacks.all(JSON.stringify(refs)) as number[])]);
      const rows = new Map<number, { data: Buffer; dictionary_pack_id: number | null }>();
      const visit = (id: number) => {
        if (rows.has(id)) return;
        const row = packRow.get(id) as { data: Buffer; dictionary_pack_id: number | null };
        rows.set(id, row);
        if (row.dictionary_pack_id !== null) visit(row.dictionary_pack_id);
      };
      referenced.forEach(visit);
      const inflated = new Map<number, Buffer>();
      const inflate = (id: number): Buffer => {
        const done = inflated.get(id);
        if (done) return done;
        const row = rows.get(id) as { data: Buffer; dictionary_pack_id: number | null };
        const dictionary = row.dictionary_pack_id === null ? undefined : inflate(row.dictionary_pack_id).subarray(-DICTIONARY_BYTES);
        const value = dictionary ? inflateRawSync(row.data, { dictionary }) : inflateRawSync(row.data);
        inflated.set(id, value);
        return value;
      };
      const started = nowMs();
      referenced.forEach(inflate);
      stats.coldInflateMs.push(nowMs() - started);
      stats.packsReferenced.push(referenced.size);
      stats.packsToInflate.push(rows.size);
    }
    return stats;
  } catch (error) {
    return `pack stats unavailable (store schema changed?): ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    db.close();
  }
}

export function packStatsLine(stats: PackStats | string): string {
  if (typeof stats === 'string') return stats;
  const f = (values: number[], digits = 1) => {
    const s = summarize(values);
    return `mean ${s.mean.toFixed(digits)}, p50 ${s.p50.toFixed(digits)}, p95 ${s.p95.toFixed(digits)}`;
  };
  return [
    `packs in the file: ${stats.packsInFile} (mean ${Math.round(stats.meanPackRawBytes).toLocaleString('en-US')} B inflated); the store keeps up to 64 MB of inflated packs per connection`,
    `per replayed run: packs holding its events and blobs ${f(stats.packsReferenced)}; with their dictionary chains ${f(stats.packsToInflate)}`,
    `per replayed run, inflating those with nothing cached: ${f(stats.coldInflateMs, 3)} ms`,
  ].join('\n');
}
