import { parseSseJson } from '../parse-sse-json.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { openaiResponsesStreamEventSchema } from './openai-responses-api-types.ts';

type Item = Record<string, unknown> & { type: string };
type Snapshot = Record<string, unknown> & { output: Item[] };

/** Events that carry the whole response in its final state. */
const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Rebuilds the `response` body a non-streamed call would have returned from the SSE text of a
 * streamed one. The last lifecycle event (`response.completed`, `.incomplete`, `.failed`) carries
 * the whole response, and wins. A stream cut off before it is rebuilt from `response.created` and
 * the item, content-part and delta events that did arrive, so a partial answer is still stored.
 * An `error` event is returned as is, as for the other formats; unknown event types are skipped.
 */
export function assembleOpenaiResponsesStream(sseText: string): unknown {
  let snapshot: Snapshot | undefined;
  for (const { json } of parseSseJson(sseText)) {
    const event = parseWireBody(openaiResponsesStreamEventSchema(), json, 'an OpenAI Responses stream event');
    if (event.type === 'error') return event;
    if (event.response !== undefined && (event.type === 'response.created' || event.type === 'response.in_progress' || TERMINAL_EVENTS.has(event.type))) {
      // Items assembled so far stay when an in-progress snapshot arrives without them.
      const output = TERMINAL_EVENTS.has(event.type) || snapshot === undefined ? event.response.output : snapshot.output;
      snapshot = { ...event.response, output: output.map((item) => ({ ...item })) };
      continue;
    }
    if (snapshot === undefined) throw new TypeError(`Expected an OpenAI Responses stream to begin with response.created, but got ${event.type} first.`);
    applyEvent(snapshot, event as Record<string, unknown> & { type: string });
  }
  if (snapshot === undefined) throw new TypeError('Expected an OpenAI Responses SSE stream, but it held no response.created event.');
  return snapshot;
}

function applyEvent(snapshot: Snapshot, event: Record<string, unknown> & { type: string }): void {
  const outputIndex = typeof event.output_index === 'number' ? event.output_index : -1;
  const item = snapshot.output[outputIndex];
  const contentIndex = typeof event.content_index === 'number' ? event.content_index : -1;
  const parts = Array.isArray(item?.content) ? (item.content as Array<Record<string, unknown>>) : undefined;
  switch (event.type) {
    case 'response.output_item.added':
    case 'response.output_item.done':
      snapshot.output[outputIndex] = { ...(event.item as Item) };
      return;
    case 'response.content_part.added':
    case 'response.content_part.done':
      if (item?.type === 'message') {
        const content = parts ?? [];
        content[contentIndex] = { ...(event.part as Record<string, unknown>) };
        item.content = content;
      }
      return;
    case 'response.output_text.delta':
    case 'response.refusal.delta': {
      const part = parts?.[contentIndex];
      const field = event.type === 'response.output_text.delta' ? 'text' : 'refusal';
      if (part !== undefined) part[field] = String(part[field] ?? '') + String(event.delta ?? '');
      return;
    }
    case 'response.function_call_arguments.delta':
      if (item !== undefined) item.arguments = String(item.arguments ?? '') + String(event.delta ?? '');
      return;
    case 'response.function_call_arguments.done':
      if (item !== undefined && typeof event.arguments === 'string') item.arguments = event.arguments;
      return;
    default:
      return;
  }
}
