import type { WireFormat } from '../wire-format.ts';
import { assembleOpenaiChatStream } from './assemble-openai-chat-stream.ts';
import { convertToCanonicalRequest } from './convert-to-canonical-request.ts';
import { convertToCanonicalResponse } from './convert-to-canonical-response.ts';
import { renderOpenaiChatStream } from './render-openai-chat-stream.ts';

export { mapOpenaiChatFinishReason } from './map-openai-chat-finish-reason.ts';
export * from './openai-chat-api-types.ts';

/**
 * OpenAI chat completions (`POST .../chat/completions`), as spoken by OpenAI and by the many
 * OpenAI-compatible servers (vLLM, Ollama, OpenRouter, Azure), which is why only the path suffix
 * is checked and never the host.
 */
export const openaiChatWireFormat: WireFormat = {
  id: 'openai-chat',
  matchesRequest: (url, body) => url.pathname.replace(/\/+$/, '').endsWith('/chat/completions') && typeof body === 'object' && body !== null,
  convertToCanonicalRequest,
  convertToCanonicalResponse,
  assembleStream: assembleOpenaiChatStream,
  renderStream: renderOpenaiChatStream,
};
