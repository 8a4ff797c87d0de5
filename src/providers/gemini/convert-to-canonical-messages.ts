import type { CanonicalMessage, CanonicalPart } from '../../tape/index.ts';
import type { GeminiContent, GeminiPart } from './gemini-api-types.ts';

/**
 * Converts Gemini `contents` (and the `systemInstruction`, first, as a `system` message) to
 * canonical messages. Role 'model' is the assistant; a user turn made only of function responses
 * is a `tool` message, as tool results are with the other providers.
 */
export function convertToCanonicalMessages(systemInstruction: string | GeminiContent | undefined, contents: GeminiContent[]): CanonicalMessage[] {
  const messages: CanonicalMessage[] = [];
  if (typeof systemInstruction === 'string') messages.push({ role: 'system', content: [{ type: 'text', text: systemInstruction }] });
  else if (systemInstruction !== undefined) messages.push({ role: 'system', content: systemInstruction.parts.map(convertToCanonicalPart) });
  for (const content of contents) {
    const parts = content.parts.map(convertToCanonicalPart);
    const role = content.role === 'model' ? 'assistant' : parts.length > 0 && parts.every((part) => part.type === 'tool-result') ? 'tool' : 'user';
    messages.push({ role, content: parts });
  }
  return messages;
}

/**
 * Converts one part. Gemini call ids are optional (the Gemini API mostly leaves them out), so an
 * absent one is ''; the tool name stays on both sides. A `thoughtSignature` is left out: it is an
 * opaque token the model minted, like a call id, and says nothing about what was asked.
 */
export function convertToCanonicalPart(part: GeminiPart): CanonicalPart {
  const { thoughtSignature: _thoughtSignature, ...rest } = part;
  if (part.functionCall !== undefined) {
    return { type: 'tool-call', toolCallId: part.functionCall.id ?? '', toolName: part.functionCall.name, input: part.functionCall.args ?? {} };
  }
  if (part.functionResponse !== undefined) {
    return {
      type: 'tool-result',
      toolCallId: part.functionResponse.id ?? '',
      toolName: part.functionResponse.name,
      output: part.functionResponse.response ?? null,
    };
  }
  if (part.text !== undefined && part.thought !== true) return { type: 'text', text: part.text };
  if (part.inlineData?.mimeType?.startsWith('image/')) {
    return { type: 'image', source: { type: 'base64', mediaType: part.inlineData.mimeType, data: part.inlineData.data ?? '' } };
  }
  if (part.fileData?.mimeType?.startsWith('image/')) return { type: 'image', source: { type: 'url', url: part.fileData.fileUri ?? '' } };
  return { type: 'other', raw: rest };
}
