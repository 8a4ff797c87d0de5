import { type BlobRef, renderWireBody, WIRE_MESSAGES_PLACEHOLDER, WIRE_SYSTEM_PLACEHOLDER, type WireBody } from '../tape/index.ts';
import type { BlobCollector } from './run-tape-writer.ts';

/**
 * Splits a JSON request body into a template and one blob per message (and per top-level system
 * prompt), keeping the exact bytes. Falls back to the whole text when the body is not exactly
 * what `JSON.stringify` would write (then a split could not give the same bytes back).
 * The OpenAI Responses API names its messages `input` and its system prompt `instructions`; the
 * placeholders mark where the parts go whatever the key, so those are lifted the same way.
 */
export function createWireBody(text: string, parsed: unknown, blobs: BlobCollector): WireBody {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return { kind: 'text', text };
  const object = parsed as Record<string, unknown>;
  const messagesKey = Array.isArray(object.messages) ? 'messages' : Array.isArray(object.input) ? 'input' : null;
  const systemKey = object.system !== undefined ? 'system' : typeof object.instructions === 'string' ? 'instructions' : null;
  if (messagesKey === null && systemKey === null) return { kind: 'text', text };
  const messageTexts = messagesKey === null ? null : (object[messagesKey] as unknown[]).map((message) => JSON.stringify(message));
  const systemText = systemKey === null ? null : JSON.stringify(object[systemKey]);
  const placeholders: Record<string, unknown> = { ...object };
  if (messagesKey !== null) placeholders[messagesKey] = JSON.parse(WIRE_MESSAGES_PLACEHOLDER);
  if (systemKey !== null) placeholders[systemKey] = JSON.parse(WIRE_SYSTEM_PLACEHOLDER);
  const template = JSON.stringify(placeholders);
  const parts = new Map<BlobRef, string>();
  const lift = (partText: string): BlobRef => {
    const ref = blobs.put(partText);
    parts.set(ref, partText);
    return ref;
  };
  const messageRefs = messageTexts ? messageTexts.map(lift) : null;
  const body: WireBody = {
    kind: 'json-template',
    template: lift(template),
    messages: messageRefs ? blobs.putList('wire', messageRefs) : null,
    system: systemText === null ? null : lift(systemText),
  };
  // Only keep the split when it gives back the exact bytes (key order, escapes, spacing).
  if (
    renderWireBody(
      body,
      (ref) => parts.get(ref) as string,
      () => messageRefs ?? [],
    ) !== text
  )
    return { kind: 'text', text };
  return body;
}
