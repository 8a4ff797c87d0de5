import type { CanonicalModelResponse, CanonicalPart } from '../../tape/index.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { convertToolCall } from './convert-to-canonical-messages.ts';
import { mapOpenaiChatFinishReason } from './map-openai-chat-finish-reason.ts';
import { openaiChatResponseSchema } from './openai-chat-api-types.ts';

/**
 * Converts a `chat.completion` body to the canonical response. Only the first choice is
 * canonical (n > 1 is rare in agents); the raw body stored beside it keeps every choice.
 */
export function convertToCanonicalResponse(body: unknown, requestedModel: string): CanonicalModelResponse {
  const response = parseWireBody(openaiChatResponseSchema(), body, 'an OpenAI chat completion response body');
  const choice = response.choices.find((candidate) => candidate.index === 0) ?? response.choices[0];
  const content: CanonicalPart[] = [];
  if (choice !== undefined) {
    const { message } = choice;
    if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content });
    if (message.refusal != null) content.push({ type: 'other', raw: { type: 'refusal', refusal: message.refusal } });
    for (const toolCall of message.tool_calls ?? []) content.push(convertToolCall(toolCall));
  }
  const usage = response.usage ?? null;
  const rawFinishReason = choice?.finish_reason ?? null;
  return {
    id: response.id,
    model: { requested: requestedModel, served: response.model },
    systemFingerprint: response.system_fingerprint ?? null,
    content,
    finishReason: { unified: mapOpenaiChatFinishReason(rawFinishReason), raw: rawFinishReason },
    usage: {
      inputTokens: usage?.prompt_tokens ?? null,
      outputTokens: usage?.completion_tokens ?? null,
      totalTokens: usage?.total_tokens ?? null,
      raw: usage,
    },
  };
}
