import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer } from '../../src/demo/index.ts';
import { loadTape } from '../../src/inspect/index.ts';
import { createRecorder, defineAgent, originals } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, type Store } from '../../src/store/index.ts';
import type { ModelEvent, StreamChunk } from '../../src/tape/index.ts';

const SALT = 'stream-chunks-salt';
const CHUNK_DELAY_MS = 20;

interface Read {
  data: string;
  bytes: number;
  /** Milliseconds after the first chunk was read. */
  at: number;
}

/** Reads a streamed completion off `response.body` with a reader, one `read()` per chunk, as raw-stream clients do. */
function chunkReader(reads: Read[]) {
  return defineAgent<string, { bytes: number }>({
    name: 'chunk-reader',
    codeVersion: '1',
    create({ rec, env }) {
      return async function handle(question) {
        const response = await rec.fetch(`${env.BASE_URL}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
          body: JSON.stringify({ model: 'support-sim', stream: true, temperature: 0, messages: [{ role: 'user', content: question }] }),
        });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let first: number | undefined;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          // The unpatched clock: timing is what the test measures, not something the agent decides on.
          const now = originals.performanceNow();
          first ??= now;
          reads.push({ data: decoder.decode(value, { stream: true }), bytes: value.byteLength, at: now - first });
        }
        // The output does not depend on chunk boundaries: the reads themselves are what is checked.
        return { bytes: reads.reduce((total, read) => total + read.bytes, 0) };
      };
    },
  });
}

let store: Store;
let closeSimulator: () => Promise<void>;
const recorded: Read[] = [];
let tapeChunks: StreamChunk[] = [];

beforeAll(async () => {
  const simulator = await startSimulatorServer({ port: 0, seed: 'stream-chunks', chunkDelayMs: CHUNK_DELAY_MS });
  closeSimulator = simulator.close;
  store = createMemoryStore();
  const rec = createRecorder({ store, agent: 'chunk-reader', redaction: { salt: SALT } });
  const handle = chunkReader(recorded).create({ rec, env: { BASE_URL: `${simulator.url}/v1` } });
  await rec.run('Customer C-2001 asks about the bill.', handle, { runId: 'run_stream' });
  const tape = await loadTape(store, 'run_stream');
  const event = tape.events.find((candidate): candidate is ModelEvent => candidate.kind === 'model');
  tapeChunks = tape.blob<StreamChunk[]>(event?.wire.streamChunks ?? '');
});
afterAll(async () => closeSimulator());

async function replayReads(paceStreams: boolean): Promise<Read[]> {
  const reads: Read[] = [];
  const result = await replayRun({
    store,
    runId: 'run_stream',
    agent: chunkReader(reads) as never,
    redactionSalt: SALT,
    paceStreams,
    env: { BASE_URL: 'http://127.0.0.1:9/v1' },
  });
  expect(result.divergences).toEqual([]);
  expect(result.ok).toBe(true);
  return reads;
}

describe('a replayed stream hands the reader the recorded chunks', () => {
  it('the tape holds each chunk the reader got while recording, with its offset', () => {
    expect(recorded.length).toBeGreaterThan(3);
    expect(tapeChunks.map((chunk) => chunk.data)).toEqual(recorded.map((read) => read.data));
    for (const [index, chunk] of tapeChunks.entries()) if (index > 0) expect(chunk.t).toBeGreaterThanOrEqual(tapeChunks[index - 1]?.t ?? 0);
    expect((tapeChunks.at(-1)?.t ?? 0) - (tapeChunks[0]?.t ?? 0)).toBeGreaterThanOrEqual((tapeChunks.length - 1) * CHUNK_DELAY_MS * 0.8);
  });

  it('replayed, the reader gets exactly the recorded chunks: same count, same bytes each', async () => {
    const replayed = await replayReads(false);
    expect(replayed.length).toBe(recorded.length);
    expect(replayed.map(({ data, bytes }) => ({ data, bytes }))).toEqual(recorded.map(({ data, bytes }) => ({ data, bytes })));
  });

  it('replayed with pace, the chunks arrive as far apart as they were recorded', async () => {
    const replayed = await replayReads(true);
    expect(replayed.map((read) => read.data)).toEqual(recorded.map((read) => read.data));
    const start = tapeChunks[0]?.t ?? 0;
    // A timer fires no earlier than asked, give or take a millisecond of rounding each; only lower bounds hold on a busy machine.
    for (const [index, read] of replayed.entries()) expect(read.at).toBeGreaterThanOrEqual((tapeChunks[index]?.t ?? 0) - start - (index + 1));
  });
});
