/**
 * Where `loadTape` spends its time, phase by phase, on the replayed runs.
 *
 * Why a copy of loadTape's steps: a CPU profile alone mixes the phases (JSON.parse is a builtin
 * and shows as its caller's self time), and src/ should not carry a benchmark's clocks. This file
 * calls the same public functions in the same order as src/inspect/load-tape.ts does for a replay
 * (getRunOrThrow, getEvents, JSON.parse, parseEvent, servedBlobRefsOfEvent, collectBlobClosure
 * over getBlobs, decodeBlob) with a clock around each, on a store opened cold. It reads every blob
 * from the store (loadTape would find the shared ones in its text cache). If load-tape.ts changes,
 * this copy may drift; the "copy total" is printed next to the real loadTape's mean so a drift shows.
 */
import { collectBlobClosure, decodeBlob, parseEvent, servedBlobRefsOfEvent, type TapeEvent } from '../../src/tape/index.ts';
import { nowMs } from '../record/percentiles.ts';
import { openCold } from './retrial-arm.ts';

export const PHASES = [
  'run row (getRunOrThrow)',
  'event rows incl. pack inflation (getEvents)',
  'JSON.parse of event rows',
  'zod parseEvent',
  'blob rows incl. pack inflation (getBlobs)',
  'JSON.parse of blobs (decodeBlob)',
  'blob closure walk and the rest',
] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseFigures {
  /** Mean ms per run, by phase. */
  meanMs: Record<Phase, number>;
  totalMeanMs: number;
  eventsPerRun: number;
  blobsPerRun: number;
  blobBytesPerRun: number;
  /** Hashes of every blob each run read (for pack-stats.ts). */
  blobRefsByRun: Map<string, string[]>;
}

export async function measureLoadTapePhases(dbPath: string, runIds: readonly string[]): Promise<PhaseFigures> {
  const store = await openCold(dbPath);
  const sums = Object.fromEntries(PHASES.map((phase) => [phase, 0])) as Record<Phase, number>;
  let events = 0;
  let blobs = 0;
  let blobBytes = 0;
  let total = 0;
  const blobRefsByRun = new Map<string, string[]>();
  for (const runId of runIds) {
    const refsRead: string[] = [];
    blobRefsByRun.set(runId, refsRead);
    const start = nowMs();
    let mark = start;
    const lap = (phase: Phase) => {
      const now = nowMs();
      sums[phase] += now - mark;
      mark = now;
    };
    const run = await store.getRunOrThrow(runId);
    lap('run row (getRunOrThrow)');
    const stored = await store.getEvents(run.header.runId);
    lap('event rows incl. pack inflation (getEvents)');
    const raw = stored.map((row) => JSON.parse(row.json) as unknown);
    lap('JSON.parse of event rows');
    const parsed: TapeEvent[] = [];
    for (const value of raw) {
      const result = parseEvent(value);
      if (!result.ok) throw new Error(`run ${runId}: ${result.message}`);
      if (result.event) parsed.push(result.event);
    }
    lap('zod parseEvent');
    events += parsed.length;
    const roots = parsed.flatMap(servedBlobRefsOfEvent);
    let inside = 0;
    await collectBlobClosure(roots, async (refs) => {
      const t0 = nowMs();
      const found = await store.getBlobs(refs);
      const t1 = nowMs();
      const decoded = new Map([...found].map(([hash, blob]) => [hash, decodeBlob(blob)]));
      const t2 = nowMs();
      sums['blob rows incl. pack inflation (getBlobs)'] += t1 - t0;
      sums['JSON.parse of blobs (decodeBlob)'] += t2 - t1;
      inside += t2 - t0;
      blobs += found.size;
      refsRead.push(...found.keys());
      for (const blob of found.values()) blobBytes += blob.size;
      return decoded;
    });
    const now = nowMs();
    sums['blob closure walk and the rest'] += now - mark - inside;
    total += now - start;
  }
  await store.close();
  const n = Math.max(1, runIds.length);
  const meanMs = Object.fromEntries(PHASES.map((phase) => [phase, sums[phase] / n])) as Record<Phase, number>;
  return { meanMs, totalMeanMs: total / n, eventsPerRun: events / n, blobsPerRun: blobs / n, blobBytesPerRun: blobBytes / n, blobRefsByRun };
}
