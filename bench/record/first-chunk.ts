/**
 * Arm 2 of the benchmark: time to first streamed chunk as the caller sees it.
 *
 * The simulator waits `chunkDelayMs` between SSE events, so a recorder that passes chunks
 * through shows the first one after about one round trip, and one that buffers the stream
 * (DESIGN section 4 says the record/replay peers do) shows it only after the whole stream.
 * Same interleaving as the non-streaming arms; the time to the end of the stream is kept too,
 * because retrial deliberately holds the *end* of the stream until its event is durable.
 */
import type { Recorder } from '../../src/record/index.ts';
import { type Arm, type ArmClients, type ArmSamples, runInterleaved } from './latency-arms.ts';
import { nowMs } from './percentiles.ts';
import { requestFactory } from './request-bodies.ts';

export interface FirstChunkResult {
  firstChunk: ArmSamples;
  /** Time to the end of the stream, per arm. */
  wholeStream: Record<Arm, number[]>;
  /** Fewest and most chunks seen in one stream (answers differ in length). */
  chunksPerStream: { min: number; max: number };
}

export async function measureFirstChunk(options: {
  clients: ArmClients;
  rec: Recorder;
  pollyDir: string;
  warmup: number;
  iterations: number;
  callsPerRun: number;
  afterRunEnd?: () => Promise<void>;
}): Promise<FirstChunkResult> {
  const { clients } = options;
  const makeRequest = requestFactory(300);
  const wholeStream: Record<Arm, number[]> = { baseline: [], retrial: [], peer: [] };
  const chunkCounts = new Set<number>();
  const firstChunk = await runInterleaved({
    ...options,
    label: 'stream',
    interleave: 'call',
    measure: async (arm, index) => {
      const body = { ...makeRequest(index), stream: true as const };
      const start = nowMs();
      const stream = await clients[arm].chat.completions.create(body);
      let first = Number.NaN;
      let chunks = 0;
      for await (const _chunk of stream) {
        if (chunks++ === 0) first = nowMs() - start;
      }
      if (index >= options.warmup) wholeStream[arm].push(nowMs() - start);
      chunkCounts.add(chunks);
      return first;
    },
  });
  return { firstChunk, wholeStream, chunksPerStream: { min: Math.min(...chunkCounts), max: Math.max(...chunkCounts) } };
}
