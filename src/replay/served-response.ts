import type { StreamChunk } from '../tape/index.ts';

/** Hop-by-hop and length headers describe the original connection, not the replayed body. */
const CONNECTION_HEADERS = new Set(['content-length', 'transfer-encoding', 'content-encoding', 'connection', 'keep-alive']);

export function replayHeaders(recorded: Record<string, string>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(recorded)) if (!CONNECTION_HEADERS.has(name)) headers.set(name, value);
  return headers;
}

/** A recorded stream, chunk by chunk as it arrived (optionally at its recorded pace). */
export function replayStream(chunks: readonly StreamChunk[], { pace = false }: { pace?: boolean } = {}): ReadableStream<Uint8Array> {
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
