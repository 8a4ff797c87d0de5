import type { TapeEvent } from './event.ts';

/** Blob refs an event points at directly (follow them with `blobRefsInside` for the rest). */
export function blobRefsOfEvent(event: TapeEvent): string[] {
  switch (event.kind) {
    case 'model': {
      const refs = [event.request.messages, event.request.sampling, event.wire.requestBody, event.wire.requestHeaders, event.wire.responseHeaders];
      if (event.request.tools) refs.push(event.request.tools);
      if (event.wire.responseBody) refs.push(event.wire.responseBody);
      if (event.wire.streamChunks) refs.push(event.wire.streamChunks);
      return refs;
    }
    case 'tool':
      return [event.args, ...(event.result ? [event.result] : []), ...(event.resultText ? [event.resultText] : [])];
    case 'retrieval':
      return [event.query, ...(event.result ? [event.result] : []), ...(event.resultText ? [event.resultText] : [])];
    case 'input':
      return event.valueText ? [event.value, event.valueText] : [event.value];
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

/**
 * The refs a strict replay serves to the agent from: response bytes (a stream's chunks, not the
 * response assembled from them), what tools, retrievals and the input gave the agent, and, on
 * tapes without `requestBodyHash`, the recorded request text that a replayed request is
 * compared with byte for byte. Everything else (canonical requests, arguments, request headers)
 * is only needed to describe a divergence, so a replay reads it when it finds one.
 */
export function servedBlobRefsOfEvent(event: TapeEvent): string[] {
  switch (event.kind) {
    case 'model': {
      const refs = [event.wire.responseHeaders];
      if (event.wire.requestBodyHash === undefined) refs.push(event.wire.requestBody);
      if (event.wire.streamChunks) refs.push(event.wire.streamChunks);
      else if (event.wire.responseBody) refs.push(event.wire.responseBody);
      return refs;
    }
    case 'tool':
    case 'retrieval': {
      const served = event.resultText ?? event.result;
      return served ? [served] : [];
    }
    case 'input':
      return [event.valueText ?? event.value];
    case 'config':
    case 'clock':
    case 'random':
    case 'decision':
    case 'note':
    case 'error':
      return [];
  }
}
