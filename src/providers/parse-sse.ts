/** One server-sent event: its `event:` name when the stream gave one, and its joined `data:` lines. */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Parses server-sent-event text into events, following the WHATWG rules the provider SDKs use:
 * lines end in `\n`, `\r\n` or `\r`; `:` lines are comments; several `data:` lines join with
 * `\n`; one space after the colon is dropped; events without data are not dispatched.
 * A trailing event with no blank line after it is still returned, because a recorded stream
 * that was cut off (or saved without its final newline) should keep its last event.
 */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let eventName: string | undefined;
  let dataLines: string[] = [];

  const dispatch = () => {
    if (dataLines.length > 0) {
      events.push(eventName === undefined ? { data: dataLines.join('\n') } : { event: eventName, data: dataLines.join('\n') });
    }
    eventName = undefined;
    dataLines = [];
  };

  const withoutByteOrderMark = text.startsWith('\uFEFF') ? text.slice(1) : text;
  for (const line of withoutByteOrderMark.split(/\r\n|\r|\n/)) {
    if (line === '') {
      dispatch();
      continue;
    }
    if (line.startsWith(':')) continue;
    const colonIndex = line.indexOf(':');
    const field = colonIndex === -1 ? line : line.slice(0, colonIndex);
    let value = colonIndex === -1 ? '' : line.slice(colonIndex + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') dataLines.push(value);
    else if (field === 'event') eventName = value;
    // `id` and `retry` matter for reconnecting, which a recorded stream never does.
  }
  dispatch();
  return events;
}
