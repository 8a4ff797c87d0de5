import type { CanonicalModelResponse } from '../../tape/index.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { convertToCanonicalPart } from './convert-to-canonical-messages.ts';
import { geminiResponseSchema } from './gemini-api-types.ts';
import { mapGeminiFinishReason } from './map-gemini-finish-reason.ts';

/**
 * Converts a Gemini `GenerateContentResponse` to the canonical response (its first candidate).
 * Gemini has no system fingerprint; `modelVersion` is the model that served. Output tokens count
 * the answer and the thinking, as both are billed as output.
 */
export function convertToCanonicalResponse(body: unknown, requestedModel: string): CanonicalModelResponse {
  const response = parseWireBody(geminiResponseSchema(), body, 'a Gemini generateContent response body');
  const candidate = response.candidates?.[0];
  const content = (candidate?.content?.parts ?? []).map(convertToCanonicalPart);
  const usage = response.usageMetadata;
  const outputTokens =
    usage?.candidatesTokenCount === undefined && usage?.thoughtsTokenCount === undefined
      ? null
      : (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0);
  const rawFinishReason = candidate?.finishReason ?? null;
  return {
    id: response.responseId ?? null,
    model: { requested: requestedModel, served: response.modelVersion ?? null },
    systemFingerprint: null,
    content,
    finishReason: {
      // No candidate at all means the prompt itself was blocked (promptFeedback says why).
      unified:
        candidate === undefined
          ? 'content-filter'
          : mapGeminiFinishReason(
              rawFinishReason,
              content.some((part) => part.type === 'tool-call'),
            ),
      raw: rawFinishReason,
    },
    usage: {
      inputTokens: usage?.promptTokenCount ?? null,
      outputTokens,
      totalTokens: usage?.totalTokenCount ?? null,
      raw: usage ?? null,
    },
  };
}
