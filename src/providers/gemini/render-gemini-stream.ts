import { parseWireBody } from '../parse-wire-body.ts';
import { splitText } from '../split-text.ts';
import { type GeminiPart, geminiResponseSchema } from './gemini-api-types.ts';

/**
 * Renders a `GenerateContentResponse` as the SSE chunks `streamGenerateContent?alt=sse` would
 * have produced, for replaying a stream whose original chunks were not recorded: text a few
 * characters per chunk, each other part in a chunk of its own, and the finish reason, the other
 * candidate fields and usageMetadata on the last chunk. `assembleGeminiStream` over these chunks
 * gives back the body.
 */
export function renderGeminiStream(body: unknown): string[] {
  const response = parseWireBody(geminiResponseSchema(), body, 'a Gemini generateContent response body');
  const { candidates = [], usageMetadata, ...topLevel } = response;
  const chunks: Array<Record<string, unknown>> = [];
  for (const candidate of candidates) {
    const { content, index, ...extras } = candidate;
    const withIndex = index === undefined ? {} : { index };
    const role = content?.role === undefined ? {} : { role: content.role };
    const pieces = (content?.parts ?? []).flatMap(splitPart);
    const candidateChunks = pieces.map((part) => ({ content: { parts: [part], ...role }, ...withIndex }));
    if (candidateChunks.length === 0) candidateChunks.push({ content: { parts: [], ...role }, ...withIndex });
    const lastChunk = candidateChunks.length - 1;
    candidateChunks.forEach((candidateChunk, position) => {
      chunks.push({ candidates: [position === lastChunk ? { ...candidateChunk, ...extras } : candidateChunk], ...topLevel });
    });
  }
  if (chunks.length === 0) chunks.push({ ...topLevel });
  const last = chunks.length - 1;
  if (usageMetadata !== undefined) chunks[last] = { ...chunks[last], usageMetadata };
  return chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`);
}

/** A text part as the pieces a stream sends (its other fields, a signature say, on the first); any other part whole. */
function splitPart(part: GeminiPart): GeminiPart[] {
  if (typeof part.text !== 'string' || part.functionCall !== undefined) return [part];
  const texts = splitText(part.text);
  if (texts.length <= 1) return [part];
  const thought = part.thought === undefined ? {} : { thought: part.thought };
  return texts.map((text, position) => (position === 0 ? { ...part, text } : { text, ...thought }));
}
