import type { CanonicalModelResponse, CanonicalPart } from '../../tape/index.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { convertContent, convertOutputItem } from './convert-to-canonical-messages.ts';
import { mapOpenaiResponsesFinishReason } from './map-openai-responses-finish-reason.ts';
import { openaiResponsesResponseSchema } from './openai-responses-api-types.ts';

/**
 * Converts a `response` body to the canonical response: the parts of every output message, and
 * one tool call per `function_call` item (several when the model called tools in parallel), in
 * output order. Reasoning and hosted tool items are kept whole as `other`.
 */
export function convertToCanonicalResponse(body: unknown, requestedModel: string): CanonicalModelResponse {
  const response = parseWireBody(openaiResponsesResponseSchema(), body, 'an OpenAI Responses response body');
  const content: CanonicalPart[] = [];
  for (const item of response.output) {
    if (item.type === 'message') content.push(...convertContent(item.content));
    else content.push(convertOutputItem(item));
  }
  const usage = response.usage ?? null;
  const hasToolCalls = content.some((part) => part.type === 'tool-call');
  return {
    id: response.id,
    model: { requested: requestedModel, served: response.model },
    systemFingerprint: null,
    content,
    finishReason: mapOpenaiResponsesFinishReason(response.status, response.incomplete_details?.reason, hasToolCalls),
    usage: {
      inputTokens: usage?.input_tokens ?? null,
      outputTokens: usage?.output_tokens ?? null,
      totalTokens: usage?.total_tokens ?? (usage ? usage.input_tokens + usage.output_tokens : null),
      raw: usage,
    },
  };
}
