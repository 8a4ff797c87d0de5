import type { CanonicalModelResponse } from '../../tape/index.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { anthropicMessagesResponseSchema } from './anthropic-messages-api-types.ts';
import { convertToCanonicalPart } from './convert-to-canonical-messages.ts';
import { mapAnthropicMessagesFinishReason } from './map-anthropic-messages-finish-reason.ts';

/**
 * Converts an Anthropic `message` body to the canonical response. Anthropic has no system
 * fingerprint. `inputTokens` is the uncached `input_tokens` as Anthropic reports it; cache reads
 * and writes are counted separately and stay visible in `usage.raw`.
 */
export function convertToCanonicalResponse(body: unknown, requestedModel: string): CanonicalModelResponse {
  const response = parseWireBody(anthropicMessagesResponseSchema(), body, 'an Anthropic Messages response body');
  const { usage } = response;
  return {
    id: response.id,
    model: { requested: requestedModel, served: response.model },
    systemFingerprint: null,
    content: response.content.map(convertToCanonicalPart),
    finishReason: { unified: mapAnthropicMessagesFinishReason(response.stop_reason), raw: response.stop_reason },
    usage: {
      inputTokens: usage.input_tokens,
      outputTokens: usage.output_tokens,
      totalTokens: usage.input_tokens + usage.output_tokens,
      raw: usage,
    },
  };
}
