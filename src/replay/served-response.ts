import type { StreamChunk } from '../tape/index.ts';

/** Hop-by-hop and length headers describe the original connection, not the replayed body. */
const CONNECTION_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-encoding', 'connection', 'keep-alive']);

export function replayHeaders(recorded: Record<string, string>): Array<[string, string]> {
  return Object.entries(recorded).filter(([name]) => !CONNECTION_HEADERS.has(name));
}

/**
 * A recorded stream as a response body, chunk by chunk as it arrived (optionally at its recorded
 * pace). A stream that arrived as one chunk is served as its bytes, which a Response reads out as
 * exactly that one chunk, without a stream of our own around it. Bytes, not a string: a string
 * body would add a `content-type` the recording may not have had.
 */
export function replayStreamBody(
  chunks: readonly StreamChunk[],
  { pace = false }: { pace?: boolean } = {},
): Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> {
  const [only] = chunks;
  if (chunks.length === 1 && only && !(pace && only.t > 0)) return new TextEncoder().encode(only.data);
  return replayStream(chunks, { pace });
}

function replayStream(chunks: readonly StreamChunk[], { pace }: { pace: boolean }): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let index = 0;
  let previous = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = chunks[index++];
      if (!chunk) {
        controller.close();
        return;
      }
      if (pace && chunk.t > previous) await new Promise((resolve) => setTimeout(resolve, chunk.t - previous));
      previous = chunk.t;
      controller.enqueue(encoder.encode(chunk.data));
    },
  });
}
