import type { z } from 'zod';
import { sha256Hex } from './hash.ts';
import { lazySchema } from './lazy-schema.ts';

/**
 * The exact body of a wire request. Where the body is JSON as `JSON.stringify` writes it, the big
 * repeated parts (each message, a top-level system prompt) are lifted into blobs of their own and
 * the rest is kept as text with placeholders, so a growing conversation stores O(new messages).
 * Lifted parts are stored as their exact text (a JSON string value), never re-serialized, so key
 * order and number formatting survive. Otherwise the text is kept whole. Either way
 * `renderWireBody` gives back the exact bytes.
 */
export const wireBodySchema = lazySchema((z) =>
  z.discriminatedUnion('kind', [
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
  ]),
);
export type WireBody = z.infer<ReturnType<typeof wireBodySchema>>;

export const WIRE_MESSAGES_PLACEHOLDER = '"@@retrial:messages@@"';
export const WIRE_SYSTEM_PLACEHOLDER = '"@@retrial:system@@"';

/**
 * Rebuilds the exact request text. `text(ref)` returns a lifted part's exact text; `list(ref)`
 * expands a message list ref into message refs.
 */
export function renderWireBody(body: WireBody, text: (ref: string) => string, list: (ref: string) => string[]): string {
  return wireBodyPieces(body, text, list).join('');
}

/**
 * The first 64 bits of the sha256 of a request body text, as hex. Replay compares a request sent
 * again with the recorded one by it; any other text is judged by the canonical request hash.
 * Finding a different text with a given 64-bit value takes about 2^64 sha256 evaluations, so a
 * match means the same bytes. Why not all 256 bits: the digest cannot be compressed, and a
 * 20-step run's pack stays within the storage target by some 400 bytes; 16 hex characters a
 * model call fit in that, 64 do not.
 */
export function requestBodyHash(text: string): string {
  return sha256Hex(text).slice(0, 16);
}

/**
 * Whether `candidate` is exactly the request text, compared piece by piece: replay checks every
 * model request this way, without building the recorded text (8 KB per request in the demo).
 */
export function wireBodyMatches(body: WireBody, candidate: string, text: (ref: string) => string, list: (ref: string) => string[]): boolean {
  let offset = 0;
  for (const piece of wireBodyPieces(body, text, list)) {
    // slice + === rather than startsWith(piece, offset): V8 compares a slice of a flat string
    // with memcmp, while startsWith at an offset goes char by char (about 40x slower at 8 KB).
    if (candidate.slice(offset, offset + piece.length) !== piece) return false;
    offset += piece.length;
  }
  return offset === candidate.length;
}

/**
 * The request text as consecutive pieces: the template around its placeholders, the message list
 * (first placeholder occurrence in the template) and then the system prompt (first occurrence in
 * the text with the messages in place, as `String.replace` would substitute them).
 */
function wireBodyPieces(body: WireBody, text: (ref: string) => string, list: (ref: string) => string[]): string[] {
  if (body.kind === 'text') return [body.text];
  const template = text(body.template);
  // Parts are read only where their placeholder is, as String.replace calls its callback.
  const at = body.messages ? template.indexOf(WIRE_MESSAGES_PLACEHOLDER) : -1;
  const messages = body.messages && at !== -1 ? list(body.messages).map(text) : null;
  const head = at === -1 ? template : template.slice(0, at);
  const tail = at === -1 ? '' : template.slice(at + WIRE_MESSAGES_PLACEHOLDER.length);
  const middle = messages ? ['[', ...messages.flatMap((message, index) => (index === 0 ? [message] : [',', message])), ']'] : [];
  const systemRef = body.system;
  if (!systemRef) return [head, ...middle, tail];
  // The placeholder has no bracket or comma, so it cannot span the list's edges or separators.
  const inHead = head.indexOf(WIRE_SYSTEM_PLACEHOLDER);
  if (inHead !== -1) return [head.slice(0, inHead), text(systemRef), head.slice(inHead + WIRE_SYSTEM_PLACEHOLDER.length), ...middle, tail];
  if (messages?.some((message) => message.includes(WIRE_SYSTEM_PLACEHOLDER))) {
    const joined = [head, ...middle, tail].join('');
    return [joined.replace(WIRE_SYSTEM_PLACEHOLDER, () => text(systemRef))];
  }
  const inTail = tail.indexOf(WIRE_SYSTEM_PLACEHOLDER);
  if (inTail === -1) return [head, ...middle, tail];
  return [head, ...middle, tail.slice(0, inTail), text(systemRef), tail.slice(inTail + WIRE_SYSTEM_PLACEHOLDER.length)];
}

/** One chunk of a streamed response as it arrived. */
export const streamChunkSchema = lazySchema((z) =>
  z.object({
    /** ms since the request was sent. */
    t: z.number(),
    /** The chunk's bytes decoded as UTF-8. */
    data: z.string(),
  }),
);
export type StreamChunk = z.infer<ReturnType<typeof streamChunkSchema>>;
