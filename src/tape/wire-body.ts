import { z } from 'zod';

/**
 * The exact body of a wire request. Where the body is JSON that re-serializes to the same bytes,
 * the big repeated parts (each message, a top-level system prompt) are lifted into blobs of their
 * own and the rest is kept as a template, so a growing conversation stores O(new messages).
 * Otherwise the text is kept whole. Either way `renderWireBody` gives back the exact bytes.
 */
export const wireBodySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({
    kind: z.literal('json-template'),
    /** The parsed body with `messages` and `system` removed; key order is the wire's. */
    template: z.record(z.string(), z.unknown()),
    /** Wire keys in their original order, so the rendered text matches byte for byte. */
    keyOrder: z.array(z.string()),
    /** Blob refs of the wire messages, in order, or null when the body had none. */
    messages: z.array(z.string()).nullable(),
    /** Blob ref of a top-level `system` field, or null. */
    system: z.string().nullable(),
  }),
]);
export type WireBody = z.infer<typeof wireBodySchema>;

/** One chunk of a streamed response as it arrived. */
export const streamChunkSchema = z.object({
  /** ms since the request was sent. */
  t: z.number(),
  /** The chunk's bytes decoded as UTF-8. */
  data: z.string(),
});
export type StreamChunk = z.infer<typeof streamChunkSchema>;
