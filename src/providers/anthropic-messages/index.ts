import type { WireFormat } from '../wire-format.ts';
import { assembleAnthropicMessagesStream } from './assemble-anthropic-messages-stream.ts';
import { convertToCanonicalRequest } from './convert-to-canonical-request.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';
import { renderAnthropicMessagesStream } from './render-anthropic-messages-stream.ts';

export * from './anthropic-messages-api-types.ts';
export { mapAnthropicMessagesFinishReason } from './map-anthropic-messages-finish-reason.ts';

/**
 * Anthropic Messages (`POST /v1/messages`). The body must carry `messages` and `max_tokens`,
 * because other APIs also have paths ending in `/messages` (OpenAI's assistants threads).
 */
export const anthropicMessagesWireFormat: WireFormat = {
  id: 'anthropic-messages',
  matchesRequest: (url, body) =>
    url.pathname.replace(/\/+$/, '').endsWith('/messages') && typeof body === 'object' && body !== null && 'messages' in body && 'max_tokens' in body,
  convertToCanonicalRequest,
  convertToCanonicalResponse,
  assembleStream: assembleAnthropicMessagesStream,
  renderStream: renderAnthropicMessagesStream,
};
