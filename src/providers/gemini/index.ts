import type { WireFormat } from '../wire-format.ts';
import { assembleGeminiStream } from './assemble-gemini-stream.ts';
import { convertToCanonicalRequest, parseGeminiPath } from './convert-to-canonical-request.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';
import { renderGeminiStream } from './render-gemini-stream.ts';

export { parseGeminiPath } from './convert-to-canonical-request.ts';
export * from './gemini-api-types.ts';
export { mapGeminiFinishReason } from './map-gemini-finish-reason.ts';

/**
 * Google Gemini (`POST .../models/{model}:generateContent`, and `:streamGenerateContent?alt=sse`
 * for streams), as `@google/genai` speaks it to the Gemini API and to Vertex AI. The model is in
 * the path, not the body; the host is never checked.
 */
export const geminiWireFormat: WireFormat = {
  id: 'gemini',
  matchesRequest: (url, body) => parseGeminiPath(url.href) !== undefined && typeof body === 'object' && body !== null && 'contents' in body,
  convertToCanonicalRequest,
  convertToCanonicalResponse,
  assembleStream: assembleGeminiStream,
  renderStream: renderGeminiStream,
};
