import type { TapeEvent } from './event.ts';
import type { WireBody } from './wire-body.ts';

/** Blob refs an event points at directly. */
export function blobRefsOfEvent(event: TapeEvent): string[] {
  switch (event.kind) {
    case 'model': {
      const refs = [...event.request.messages, event.wire.requestBody];
      if (event.request.tools) refs.push(event.request.tools);
      if (event.wire.responseBody) refs.push(event.wire.responseBody);
      if (event.wire.streamChunks) refs.push(event.wire.streamChunks);
      return refs;
    }
    case 'tool':
      return event.result ? [event.args, event.result] : [event.args];
    case 'retrieval':
      return event.result ? [event.query, event.result] : [event.query];
    case 'input':
      return [event.value];
    case 'config':
      return event.settings ? [event.settings] : [];
    case 'clock':
    case 'random':
    case 'decision':
    case 'note':
    case 'error':
      return [];
  }
}

/** Blob refs a wire-body blob points at (its lifted messages and system prompt). */
export function blobRefsOfWireBody(body: WireBody): string[] {
  if (body.kind === 'text') return [];
  const refs = body.messages ? [...body.messages] : [];
  if (body.system) refs.push(body.system);
  return refs;
}
