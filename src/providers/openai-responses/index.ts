import type { WireFormat } from '../wire-format.ts';
import { assembleOpenaiResponsesStream } from './assemble-openai-responses-stream.ts';
import { convertToCanonicalRequest } from './convert-to-canonical-request.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';
import { renderOpenaiResponsesStream } from './render-openai-responses-stream.ts';

export { mapOpenaiResponsesFinishReason } from './map-openai-responses-finish-reason.ts';
export * from './openai-responses-api-types.ts';

/**
 * OpenAI Responses (`POST .../responses`), what the OpenAI Agents SDK and the AI SDK's OpenAI
 * provider use by default. The body must carry a `model`: other routes under `/responses`
 * (`/responses/{id}`, `/responses/{id}/cancel`) are not model calls, and their paths do not end
 * in `/responses` anyway.
 */
export const openaiResponsesWireFormat: WireFormat = {
  id: 'openai-responses',
  matchesRequest: (url, body) =>
    url.pathname.replace(/\/+$/, '').endsWith('/responses') &&
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { model?: unknown }).model === 'string',
  convertToCanonicalRequest,
  convertToCanonicalResponse,
  assembleStream: assembleOpenaiResponsesStream,
  renderStream: renderOpenaiResponsesStream,
};
