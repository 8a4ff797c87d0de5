import { parseSse } from './parse-sse.ts';

/** One server-sent event with its data parsed as JSON. */
export interface SseJsonEvent {
  event?: string;
  json: unknown;
}

/**
 * Parses SSE text into events with JSON data. OpenAI's `[DONE]` end marker, the only non-JSON
 * data providers send, is left out. A last event whose data does not parse is dropped rather
 * than thrown on: it is what a stream cut off mid-event (client abort, dropped connection)
 * leaves behind, and the events before it still make a usable partial answer. Unparsable data
 * anywhere else is a corrupt stream and throws.
 */
export function parseSseJson(text: string): SseJsonEvent[] {
  const events = parseSse(text).filter((event) => event.data !== '[DONE]');
  const parsed: SseJsonEvent[] = [];
  for (const [position, event] of events.entries()) {
    let json: unknown;
    try {
      json = JSON.parse(event.data);
    } catch (error) {
      if (position === events.length - 1) break;
      throw new TypeError(`Expected JSON in every server-sent event, but event ${position + 1} holds: ${event.data.slice(0, 80)}`, { cause: error });
    }
    parsed.push(event.event === undefined ? { json } : { event: event.event, json });
  }
  return parsed;
}
