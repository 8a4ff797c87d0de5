import type { CanonicalRequestDraft, WireFormat } from '../providers/index.ts';
import { type CanonicalMessage, type CanonicalModelRequest, hashJson, requestBodyHash, type StreamChunk } from '../tape/index.ts';
import type { BlobCollector, EventDraft } from './run-tape-writer.ts';
import { createWireBody } from './wire-body-template.ts';

/** One model call as it crossed the wire, already redacted. */
export interface ModelExchange {
  format: WireFormat;
  key: string;
  at: number;
  durationMs: number;
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  requestText: string;
  /** The parsed (and redacted) request body. */
  requestBody: unknown;
  status: number | null;
  responseHeaders: Record<string, string>;
  /** Exact response text for JSON responses, null for streams and failures. */
  responseText: string | null;
  /** Chunks as they arrived, for streams. */
  chunks: StreamChunk[] | null;
  error?: { message: string; status?: number };
  /**
   * Redacts the response assembled from a stream's chunks. Each chunk was redacted alone, and a
   * model streams its text a few characters per chunk, so a key it writes is whole only here.
   */
  redactAssembled?: <T>(value: T) => T;
}

/**
 * Tool call ids are minted by the provider, so two runs of the same conversation carry different
 * ids. The "what" hash replaces them by their order of appearance.
 */
function normalizeToolCallIds(messages: CanonicalMessage[]): CanonicalMessage[] {
  const ids = new Map<string, string>();
  const normalize = (id: string) => {
    if (!ids.has(id)) ids.set(id, `call#${ids.size}`);
    return ids.get(id) as string;
  };
  return messages.map((message) => ({
    ...message,
    content: message.content.map((part) =>
      part.type === 'tool-call' || part.type === 'tool-result' ? { ...part, toolCallId: normalize(part.toolCallId) } : part,
    ),
  }));
}

/** The parts of a request that decide what the model sees, with provider-minted ids normalized. */
export function comparableRequest(draft: CanonicalRequestDraft): Record<string, unknown> {
  return {
    model: draft.model,
    messages: normalizeToolCallIds(draft.messages),
    tools: draft.tools,
    toolChoice: draft.toolChoice ?? null,
    responseFormat: draft.responseFormat ?? null,
    sampling: Object.fromEntries(Object.entries(draft.sampling).map(([name, sampled]) => [name, sampled.value ?? null])),
  };
}

/** sha256 of the comparable request: the "what" of replay matching. */
export function hashCanonicalRequest(draft: CanonicalRequestDraft): string {
  return hashJson(comparableRequest(draft));
}

/** Builds the model event (canonical forms, blobs, wire record) from an exchange. */
export function buildModelEvent(exchange: ModelExchange, blobs: BlobCollector): EventDraft {
  const { format } = exchange;
  const draft = format.convertToCanonicalRequest(exchange.requestBody, exchange.url);
  const request: CanonicalModelRequest = {
    model: draft.model,
    messages: blobs.putList(
      'canonical',
      draft.messages.map((message) => blobs.put(message)),
    ),
    tools: draft.tools ? blobs.put(draft.tools) : null,
    toolChoice: draft.toolChoice ?? null,
    responseFormat: draft.responseFormat ?? null,
    sampling: blobs.put(draft.sampling),
    stream: draft.stream,
  };
  let responseBody: unknown = null;
  if (exchange.chunks) {
    const assembled = format.assembleStream(exchange.chunks.map((chunk) => chunk.data).join(''));
    responseBody = exchange.redactAssembled ? exchange.redactAssembled(assembled) : assembled;
  } else if (exchange.responseText !== null && exchange.status !== null && exchange.status < 400) responseBody = JSON.parse(exchange.responseText);
  return {
    kind: 'model',
    key: exchange.key,
    at: exchange.at,
    durationMs: exchange.durationMs,
    provider: format.id,
    request,
    response: responseBody === null ? null : format.convertToCanonicalResponse(responseBody, draft.model),
    wire: {
      method: exchange.method,
      url: exchange.url,
      requestHeaders: blobs.put(exchange.requestHeaders),
      requestBody: blobs.put(createWireBody(exchange.requestText, exchange.requestBody, blobs)),
      requestBodyHash: requestBodyHash(exchange.requestText),
      status: exchange.status,
      responseHeaders: blobs.put(exchange.responseHeaders),
      responseBody: exchange.chunks ? blobs.put(responseBody) : exchange.responseText === null ? null : blobs.put(exchange.responseText),
      streamChunks: exchange.chunks ? blobs.put(exchange.chunks) : null,
    },
    requestHash: hashCanonicalRequest(draft),
    ...(exchange.error ? { error: exchange.error } : {}),
  };
}
