/**
 * Turns the measurements into the printed figures: one section per measurement, target lines
 * with PASS/MISS, and a closing markdown table meant to be pasted into bench/record/README.md.
 * All formatting lives here so the measuring files stay about measuring.
 */
import type { FirstChunkResult } from './first-chunk.ts';
import { ARMS, type Arm, type ArmSamples, type Interleave } from './latency-arms.ts';
import { bytes, ms, percentOf, ratio, type Summary, summarize, verdict } from './percentiles.ts';
import type { StoredBytesResult } from './stored-bytes.ts';

export const TARGETS = { addedP50Ms16k: 0.3, peerShare: 0.5, storedShare: 0.15 };

export interface LatencyFigures {
  label: string;
  interleave: Interleave;
  bodyBytes: number;
  arms: Record<Arm, Summary>;
  /** Arm minus baseline, per statistic. */
  added: { retrial: Summary; peer: Summary };
  /** Block end (run flush / HAR write) per call, mean. */
  blockEndPerCall: { retrial: number; peer: number };
  /** `block` interleave only: mean wall time of a whole block per call, and arm minus baseline. */
  allInPerCall: Record<Arm, number> | null;
}

export function latencyFigures(label: string, bodyBytes: number, result: ArmSamples, callsPerRun: number): LatencyFigures {
  const arms = { baseline: summarize(result.samples.baseline), retrial: summarize(result.samples.retrial), peer: summarize(result.samples.peer) };
  const minus = (a: Summary, b: Summary): Summary => ({ count: a.count, p50: a.p50 - b.p50, p95: a.p95 - b.p95, mean: a.mean - b.mean });
  const perCall = (samples: number[]) => (samples.length ? summarize(samples).mean / callsPerRun : Number.NaN);
  return {
    label,
    interleave: result.interleave,
    bodyBytes,
    arms,
    added: { retrial: minus(arms.retrial, arms.baseline), peer: minus(arms.peer, arms.baseline) },
    blockEndPerCall: { retrial: perCall(result.blockEndMs.retrial), peer: perCall(result.blockEndMs.peer) },
    allInPerCall:
      result.interleave === 'block'
        ? { baseline: perCall(result.blockMs.baseline), retrial: perCall(result.blockMs.retrial), peer: perCall(result.blockMs.peer) }
        : null,
  };
}

const INTERLEAVE_TITLE: Record<Interleave, string> = {
  call: 'arms take turns every call',
  block: 'arms take turns every block of one run',
};

export function latencySection(figures: LatencyFigures): string {
  const { arms, added, allInPerCall } = figures;
  const allIn = (arm: Arm) => (allInPerCall ? ` ${ms(allInPerCall[arm])} | ${arm === 'baseline' ? '-' : ms(allInPerCall[arm] - allInPerCall.baseline)} |` : '');
  const row = (arm: Arm) =>
    arm === 'baseline'
      ? `| baseline | ${ms(arms.baseline.p50)} | ${ms(arms.baseline.p95)} | ${ms(arms.baseline.mean)} | - | - | - | - |${allIn('baseline')}`
      : `| ${arm} | ${ms(arms[arm].p50)} | ${ms(arms[arm].p95)} | ${ms(arms[arm].mean)} | ${ms(added[arm].p50)} | ${ms(added[arm].p95)} | ${ms(added[arm].mean)} | ${ms(figures.blockEndPerCall[arm])} |${allIn(arm)}`;
  const lines = [
    `### ${figures.label} request (JSON body ${bytes(figures.bodyBytes)} B), ${INTERLEAVE_TITLE[figures.interleave]}, n=${arms.baseline.count} per arm`,
    `| arm | p50 ms | p95 ms | mean ms | added p50 ms | added p95 ms | added mean ms | end of run, per call ms |${allInPerCall ? ' all-in per call ms | added all-in ms |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|${allInPerCall ? '---:|---:|' : ''}`,
    ...ARMS.map(row),
    `retrial-added / peer-added: p50 ${ratio(added.retrial.p50, added.peer.p50)}, p95 ${ratio(added.retrial.p95, added.peer.p95)}, mean ${ratio(added.retrial.mean, added.peer.mean)}` +
      (allInPerCall ? `, all-in ${ratio(allInPerCall.retrial - allInPerCall.baseline, allInPerCall.peer - allInPerCall.baseline)}` : ''),
  ];
  return lines.join('\n');
}

export function latencyTargets(large: LatencyFigures): string {
  const { retrial, peer } = large.added;
  return [
    `target: retrial added p50 <= ${TARGETS.addedP50Ms16k} ms at 16 KB: ${ms(retrial.p50)} ms -> ${verdict(retrial.p50 <= TARGETS.addedP50Ms16k)}`,
    `target: retrial added p50 <= ${TARGETS.peerShare} x peer added p50 at 16 KB: ${ratio(retrial.p50, peer.p50)} -> ${verdict(peer.p50 > 0 && retrial.p50 <= TARGETS.peerShare * peer.p50)}`,
  ].join('\n');
}

export function firstChunkSection(result: FirstChunkResult, chunkDelayMs: number): string {
  const first = result.firstChunk.samples;
  const lines = [
    `### Streaming, ${chunkDelayMs} ms between chunks, ${result.chunksPerStream.min}-${result.chunksPerStream.max} chunks per stream, n=${first.baseline.length} per arm`,
    '| arm | first chunk p50 ms | first chunk p95 ms | whole stream p50 ms |',
    '|---|---:|---:|---:|',
    ...ARMS.map((arm) => {
      const f = summarize(first[arm]);
      return `| ${arm} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(summarize(result.wholeStream[arm]).p50)} |`;
    }),
  ];
  return lines.join('\n');
}

export function storedBytesSection(result: StoredBytesResult): string {
  const naive = result.naiveJsonBytes;
  const row = (name: string, value: number) => `| ${name} | ${bytes(value)} | ${percentOf(value, naive)} |`;
  const lines = [
    `### Stored bytes: one run of ${result.steps} sequential calls, ${bytes(result.systemPromptBytes)} B system prompt, growing conversation`,
    '| what | bytes | % of naive JSON |',
    '|---|---:|---:|',
    row('naive JSON (request + response bodies)', naive),
    row('gzip -9 of the naive JSON', result.gzipBytes),
    row('retrial, logical before compression (event + blob JSON)', result.retrialRawBytes),
    row('retrial, logical as stored (event + blob bytes, store.stats() deltas)', result.retrialLogicalBytes),
    row('retrial, SQLite file after VACUUM minus empty store after VACUUM', result.retrialVacuumBytes),
    row('peer recording file (Polly HAR)', result.peerBytes),
    `target: retrial <= ${TARGETS.storedShare * 100}% of naive JSON: logical ${percentOf(result.retrialLogicalBytes, naive)} -> ${verdict(result.retrialLogicalBytes <= TARGETS.storedShare * naive)}, on disk ${percentOf(result.retrialVacuumBytes, naive)} -> ${verdict(result.retrialVacuumBytes <= TARGETS.storedShare * naive)}`,
    '',
    `(stats fields used: ${result.statsFields})`,
    `on disk after VACUUM, growth per table/index (free bytes inside those pages): ${Object.entries(result.onDiskByTable)
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([name, size]) => `${name} ${bytes(size.bytes)} (${bytes(size.unused)} free)`)
      .join(', ')}`,
    '',
    "Where retrial's bytes go (raw JSON before the store compresses anything):",
    ...Object.entries(result.breakdown.eventsByKind).map(([kind, g]) => `  events ${kind}: ${g.count} events, ${bytes(g.raw)} B`),
    `  model event fields: ${Object.entries(result.breakdown.modelEventFields)
      .sort((a, b) => b[1] - a[1])
      .map(([field, size]) => `${field} ${bytes(size)}`)
      .join(', ')}`,
    ...Object.entries(result.breakdown.blobsByContent)
      .sort((a, b) => b[1].raw - a[1].raw)
      .map(([label, g]) => `  blobs ${label}: ${g.count} blobs, ${bytes(g.raw)} B`),
  ];
  return lines.join('\n');
}
