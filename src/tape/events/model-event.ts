import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** A canonical content part of a message. Provider wire formats map to and from these. */
export const canonicalPartSchema = lazySchema((z) =>
  z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('text'), text: z.string() }),
    z.looseObject({ type: z.literal('image'), source: z.unknown() }),
    z.looseObject({
      type: z.literal('tool-call'),
      toolCallId: z.string(),
      toolName: z.string(),
      /** Parsed arguments; `rawArguments` keeps the exact string where the wire had one. */
      input: z.unknown(),
      rawArguments: z.string().optional(),
    }),
    z.looseObject({
      type: z.literal('tool-result'),
      toolCallId: z.string(),
      toolName: z.string().optional(),
      output: z.unknown(),
      isError: z.boolean().optional(),
    }),
    z.looseObject({ type: z.literal('other'), raw: z.unknown() }),
  ]),
);
export type CanonicalPart = z.infer<ReturnType<typeof canonicalPartSchema>>;

/** One chat message in provider-neutral form. Stored one blob per message. */
export const canonicalMessageSchema = lazySchema((z) =>
  z.looseObject({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    content: z.array(canonicalPartSchema()),
    name: z.string().optional(),
  }),
);
export type CanonicalMessage = z.infer<ReturnType<typeof canonicalMessageSchema>>;

export const canonicalToolSchema = lazySchema((z) =>
  z.looseObject({
    name: z.string(),
    description: z.string().optional(),
    /** JSON schema of the arguments. */
    inputSchema: z.unknown(),
  }),
);
export type CanonicalTool = z.infer<ReturnType<typeof canonicalToolSchema>>;

/** A sampling parameter's value and whether the caller sent it or the provider default applies. */
export const samplingValueSchema = lazySchema((z) =>
  z.object({
    value: z.unknown(),
    source: z.enum(['sent', 'default']),
  }),
);

/** The request as the model saw it, in canonical form. Message and tool bodies are blob refs. */
export const canonicalModelRequestSchema = lazySchema((z) =>
  z.looseObject({
    /** Model name exactly as requested (may be an alias). */
    model: z.string(),
    /** Ref of a MessageList of canonical message blobs (system prompt first where the provider has one). */
    messages: z.string(),
    /** Blob ref of the CanonicalTool[] offered, or null when none. */
    tools: z.string().nullable(),
    toolChoice: z.unknown(),
    responseFormat: z.unknown(),
    /**
     * Ref of a blob holding every sampling parameter the provider defines, with defaults filled in
     * and marked (Record<name, { value, source }>). A blob, because it is the same on every step.
     */
    sampling: z.string(),
    stream: z.boolean(),
  }),
);
export type CanonicalModelRequest = z.infer<ReturnType<typeof canonicalModelRequestSchema>>;

export const finishReasonSchema = lazySchema((z) =>
  z.object({
    unified: z.enum(['stop', 'length', 'tool-calls', 'content-filter', 'error', 'other']),
    raw: z.string().nullable(),
  }),
);
export type FinishReason = z.infer<ReturnType<typeof finishReasonSchema>>;

export const usageSchema = lazySchema((z) =>
  z.object({
    inputTokens: z.number().nullable(),
    outputTokens: z.number().nullable(),
    totalTokens: z.number().nullable(),
    /** The provider's usage object as received. */
    raw: z.unknown(),
  }),
);
export type Usage = z.infer<ReturnType<typeof usageSchema>>;

/** The model's answer in canonical form (first choice; the raw body keeps all of them). */
export const canonicalModelResponseSchema = lazySchema((z) =>
  z.looseObject({
    id: z.string().nullable(),
    model: z.object({ requested: z.string(), served: z.string().nullable() }),
    systemFingerprint: z.string().nullable(),
    content: z.array(canonicalPartSchema()),
    finishReason: finishReasonSchema(),
    usage: usageSchema(),
  }),
);
export type CanonicalModelResponse = z.infer<ReturnType<typeof canonicalModelResponseSchema>>;

/** The exact bytes on the wire, after redaction. */
export const wireRecordSchema = lazySchema((z) =>
  z.looseObject({
    method: z.string(),
    url: z.string(),
    /** Ref of the request headers minus credentials (Record<string, string>). */
    requestHeaders: z.string(),
    /** Blob ref of the request body: a WireBody (exact text, or template plus message refs). */
    requestBody: z.string(),
    /**
     * requestBodyHash of the exact request body text `requestBody` renders (absent on tapes recorded
     * before revision 3). Replay checks a request that was sent again against it, without reading
     * the body's template and messages.
     */
    requestBodyHash: z.string().optional(),
    status: z.number().int().nullable(),
    /** Ref of the response headers (Record<string, string>). */
    responseHeaders: z.string(),
    /** Blob ref of the response body text (assembled from the chunks for streams). */
    responseBody: z.string().nullable(),
    /** Blob ref of StreamChunk[] for streamed responses. */
    streamChunks: z.string().nullable(),
  }),
);
export type WireRecord = z.infer<ReturnType<typeof wireRecordSchema>>;

/** A model call: what was asked, what came back, and the exact wire exchange. */
export const modelEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('model'),
    /** Wire format id, e.g. "openai-chat" or "anthropic-messages". */
    provider: z.string(),
    request: canonicalModelRequestSchema(),
    /** Null when the call failed before a response arrived. */
    response: canonicalModelResponseSchema().nullable(),
    wire: wireRecordSchema(),
    /** sha256 of the canonical request with volatile ids normalized: the "what" of matching. */
    requestHash: z.string(),
    error: z.looseObject({ message: z.string(), status: z.number().optional() }).optional(),
  }),
);
export type ModelEvent = z.infer<ReturnType<typeof modelEventSchema>>;
