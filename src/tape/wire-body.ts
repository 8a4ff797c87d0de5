import { z } from 'zod';

/**
 * The exact body of a wire request. Where the body is JSON as `JSON.stringify` writes it, the big
 * repeated parts (each message, a top-level system prompt) are lifted into blobs of their own and
 * the rest is kept as text with placeholders, so a growing conversation stores O(new messages).
 * Lifted parts are stored as their exact text (a JSON string value), never re-serialized, so key
 * order and number formatting survive. Otherwise the text is kept whole. Either way
 * `renderWireBody` gives back the exact bytes.
 */
export const wireBodySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({
    kind: z.literal('json-template'),
    /**
     * Ref of the body text with `messages` and `system` values replaced by placeholders (a JSON
     * string blob). A blob of its own: it is the same on every step of a run.
     */
    template: z.string(),
    /** Ref of a MessageList of the wire messages' exact texts, or null when the body had none. */
    messages: z.string().nullable(),
    /** Blob ref of the exact text of a top-level `system` value, or null. */
    system: z.string().nullable(),
  }),
]);
export type WireBody = z.infer<typeof wireBodySchema>;

export const WIRE_MESSAGES_PLACEHOLDER = '"@@retrial:messages@@"';
export const WIRE_SYSTEM_PLACEHOLDER = '"@@retrial:system@@"';

/**
 * Rebuilds the exact request text. `text(ref)` returns a lifted part's exact text; `list(ref)`
 * expands a message list ref into message refs.
 */
export function renderWireBody(body: WireBody, text: (ref: string) => string, list: (ref: string) => string[]): string {
  if (body.kind === 'text') return body.text;
  let out = text(body.template);
  if (body.messages)
    out = out.replace(
      WIRE_MESSAGES_PLACEHOLDER,
      () =>
        `[${list(body.messages as string)
          .map(text)
          .join(',')}]`,
    );
  if (body.system) out = out.replace(WIRE_SYSTEM_PLACEHOLDER, () => text(body.system as string));
  return out;
}

/** One chunk of a streamed response as it arrived. */
export const streamChunkSchema = z.object({
  /** ms since the request was sent. */
  t: z.number(),
  /** The chunk's bytes decoded as UTF-8. */
  data: z.string(),
});
export type StreamChunk = z.infer<typeof streamChunkSchema>;
