/**
 * Where `loadTape` spends its time, phase by phase, on the replayed runs.
 *
 * Why a copy of loadTape's steps: a CPU profile alone mixes the phases (JSON.parse is a builtin
 * and shows as its caller's self time), and src/ should not carry a benchmark's clocks. This file
 * calls the same public functions in the same order as src/inspect/load-tape.ts does for a replay
 * (getTape, JSON.parse, parseEvent, servedBlobRefsOfEvent, collectBlobClosure over the run's pack
 * then getBlobs, the hash check and JSON.parse) with a clock around each, on a store opened cold.
 * It decodes every blob (loadTape would find the shared ones in its blob cache). If load-tape.ts changes,
 * this copy may drift; the "copy total" is printed next to the real loadTape's mean so a drift shows.
 */
import {
  collectBlobClosure,
  decodeBlobText,
  EVENT_SCHEMA_REVISION,
  parseEvent,
  type StoredBlob,
  servedBlobRefsOfEvent,
  sha256Hex,
  type TapeEvent,
} from '../../src/tape/index.ts';
import { nowMs } from '../record/percentiles.ts';
import { openCold } from './retrial-arm.ts';

export const PHASES = [
  "run row, events and the run's pack (getTape)",
  'JSON.parse of events',
  'zod parseEvent (skipped for events a pack notes valid)',
  "blobs outside the run's pack (getBlobs)",
  'blob hash check and JSON.parse',
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
    const tape = await store.getTape(runId);
    lap("run row, events and the run's pack (getTape)");
    const raw = tape.eventTexts.map((json) => JSON.parse(json) as unknown);
    lap('JSON.parse of events');
    const parsed: TapeEvent[] = [];
    // As loadTape: events the store noted valid under this schema revision are not validated again.
    const validated = tape.eventsValidUnder === EVENT_SCHEMA_REVISION;
    for (const value of raw) {
      if (validated) {
        parsed.push(value as TapeEvent);
        continue;
      }
      const result = parseEvent(value);
      if (!result.ok) throw new Error(`run ${runId}: ${result.message}`);
      if (result.event) parsed.push(result.event);
    }
    lap('zod parseEvent (skipped for events a pack notes valid)');
    events += parsed.length;
    const roots = parsed.flatMap(servedBlobRefsOfEvent);
    let inside = 0;
    await collectBlobClosure(roots, async (refs) => {
      const t0 = nowMs();
      const found = new Map(refs.flatMap((ref) => (tape.blobs.has(ref) ? [[ref, tape.blobs.get(ref) as StoredBlob] as const] : [])));
      const elsewhere = refs.filter((ref) => !found.has(ref));
      if (elsewhere.length) for (const [hash, blob] of await store.getBlobs(elsewhere)) found.set(hash, blob);
      const t1 = nowMs();
      const decoded = new Map(
        [...found].map(([hash, blob]) => {
          const text = decodeBlobText(blob);
          if (sha256Hex(text) !== hash) throw new Error(`run ${runId}: blob ${hash} is damaged`);
          return [hash, JSON.parse(text) as unknown];
        }),
      );
      const t2 = nowMs();
      sums["blobs outside the run's pack (getBlobs)"] += t1 - t0;
      sums['blob hash check and JSON.parse'] += t2 - t1;
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
