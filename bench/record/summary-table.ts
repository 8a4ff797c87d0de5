/**
 * The closing markdown table of `npm run bench:record`, meant to be pasted into
 * bench/record/README.md with the machine caveat that belongs next to it. It puts the brief's
 * per-call-turn figures next to the per-block ones that attribute tails and deferred work to the
 * arm that caused them (see `Interleave` in latency-arms.ts).
 */
import type { FirstChunkResult } from './first-chunk.ts';
import type { Arm } from './latency-arms.ts';
import { bytes, ms, percentOf, ratio, summarize } from './percentiles.ts';
import type { LatencyFigures } from './report.ts';
import type { StoredBytesResult } from './stored-bytes.ts';

export interface RunFigures {
  /** Arms take turns every call (the brief's method). */
  small: LatencyFigures;
  large: LatencyFigures;
  /** Arms take turns every block: tails and all-in cost attributed to the arm that caused them. */
  smallBlock: LatencyFigures;
  largeBlock: LatencyFigures;
  firstChunk: FirstChunkResult;
  stored: StoredBytesResult;
}

/** The closing markdown table, with the caveat that belongs next to it. */
export function summaryTable(figures: RunFigures, machine: string): string {
  const { small, large, smallBlock, largeBlock, stored } = figures;
  const firstP50 = (arm: Arm) => ms(summarize(figures.firstChunk.firstChunk.samples[arm]).p50);
  const naive = stored.naiveJsonBytes;
  const addedRow = (name: string, f: LatencyFigures, stat: 'p50' | 'p95', target = '') =>
    `| ${name} | - | ${ms(f.added.retrial[stat])} | ${ms(f.added.peer[stat])} | ${ratio(f.added.retrial[stat], f.added.peer[stat])} | ${target} |`;
  const allInRow = (name: string, f: LatencyFigures) => {
    const a = f.allInPerCall as Record<Arm, number>;
    return `| ${name} | ${ms(a.baseline)} | +${ms(a.retrial - a.baseline)} | +${ms(a.peer - a.baseline)} | ${ratio(a.retrial - a.baseline, a.peer - a.baseline)} | |`;
  };
  return [
    '| figure | baseline | retrial | peer (Polly) | retrial / peer | target |',
    '|---|---:|---:|---:|---:|---|',
    addedRow('added p50, ~300 B body, per-call turns (ms)', small, 'p50'),
    addedRow('added p95, ~300 B body, per-call turns (ms)', small, 'p95'),
    addedRow('added p50, 16 KB body, per-call turns (ms)', large, 'p50', '<= 0.3 ms and <= 0.5x peer'),
    addedRow('added p95, 16 KB body, per-call turns (ms)', large, 'p95'),
    addedRow('added p50, 16 KB body, per-block turns (ms)', largeBlock, 'p50'),
    addedRow('added p95, 16 KB body, per-block turns (ms)', largeBlock, 'p95'),
    allInRow('all-in per call incl. deferred flush, ~300 B (ms)', smallBlock),
    allInRow('all-in per call incl. deferred flush, 16 KB (ms)', largeBlock),
    `| stream first chunk p50 (ms) | ${firstP50('baseline')} | ${firstP50('retrial')} | ${firstP50('peer')} | | |`,
    `| 20-step run stored (% of naive ${bytes(naive)} B) | gzip -9: ${percentOf(stored.gzipBytes, naive)} | ${percentOf(stored.retrialLogicalBytes, naive)} logical, ${percentOf(stored.retrialVacuumBytes, naive)} on disk | ${percentOf(stored.peerBytes, naive)} | | retrial <= 15% |`,
    '',
    `Machine: ${machine}. Shared 2-core box, noisy: absolute milliseconds move between runs; compare ratios and the arms of one run (they were measured interleaved).`,
  ].join('\n');
}
