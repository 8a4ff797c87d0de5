import type { z } from 'zod';
import type { CanonicalMessage, CanonicalModelResponse, CanonicalTool, samplingValueSchema } from '../tape/index.ts';

/** Ids of the wire formats retrial understands; stored as `ModelEvent.provider`. */
export type WireFormatId = 'openai-chat' | 'anthropic-messages' | 'openai-responses' | 'gemini';

/** A sampling parameter's effective value, and whether the caller sent it or the default applies. */
export type SamplingValue = z.infer<ReturnType<typeof samplingValueSchema>>;

/**
 * A request in canonical form with message and tool bodies inline. The recorder turns it into a
 * `CanonicalModelRequest` by storing each message and the tool list as blobs.
 */
export interface CanonicalRequestDraft {
  /** Model name exactly as requested (may be an alias). */
  model: string;
  /** Messages in order; a provider's top-level system prompt comes first as a `system` message. */
  messages: CanonicalMessage[];
  /** Tools offered to the model, or null when none were. */
  tools: CanonicalTool[] | null;
  /** 'auto' | 'none' | 'required' | { type: 'tool', toolName }, or the raw value when unknown. */
  toolChoice: unknown;
  /** The provider's response-format / structured-output setting as sent, or null when absent. */
  responseFormat: unknown;
  /** Every sampling parameter the provider defines, defaults filled in and marked 'default'. */
  sampling: Record<string, SamplingValue>;
  /** Whether the caller asked for a streamed (SSE) response. */
  stream: boolean;
}

/**
 * One provider wire format. Everything that knows a provider's JSON lives behind this interface,
 * so the recorder and replayer never branch on the provider's name.
 */
export interface WireFormat {
  id: WireFormatId;
  /** Whether a request to this URL path with this parsed JSON body is this format's model call. */
  matchesRequest(url: URL, body: unknown): boolean;
  /**
   * Throws a TypeError with a clear sentence on bodies that aren't this format. `url` is the
   * request URL: formats that name the model or streaming in the path (Gemini) read it there.
   */
  convertToCanonicalRequest(body: unknown, url?: string): CanonicalRequestDraft;
  /** Throws a TypeError on bodies that aren't this format's (non-streamed) response. */
  convertToCanonicalResponse(body: unknown, requestedModel: string): CanonicalModelResponse;
  /** Rebuilds the JSON body a non-streamed call would have returned, from the full SSE text of a streamed one. */
  assembleStream(sseText: string): unknown;
  /** Renders a (non-streamed) wire response body as SSE text chunks that the real SDK accepts, for replaying streams when chunks are unavailable. */
  renderStream(body: unknown): string[];
}
