import { parseSseJson } from '../parse-sse-json.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { type GeminiPart, geminiResponseSchema } from './gemini-api-types.ts';

interface CandidateState {
  index: number | undefined;
  role: string | undefined;
  parts: GeminiPart[];
  /** Candidate fields other than content (finishReason, safetyRatings, citationMetadata, ...), last value wins. */
  extras: Record<string, unknown>;
}

/** A part that only carries text (possibly a thought, possibly its signature). */
const isTextPart = (part: GeminiPart) =>
  typeof part.text === 'string' && Object.keys(part).every((key) => key === 'text' || key === 'thought' || key === 'thoughtSignature');

/**
 * Rebuilds the `GenerateContentResponse` a non-streamed call would have returned from the SSE text
 * of `streamGenerateContent?alt=sse`. Every chunk is itself a response: text arrives a piece per
 * chunk and is joined onto the previous text part of the same kind (answer or thought), function
 * calls arrive whole, and the top-level fields (usageMetadata, modelVersion, responseId) of the
 * last chunk that has them win. An `error` payload is returned as is: it is what a non-streamed
 * call would have returned.
 */
export function assembleGeminiStream(sseText: string): unknown {
  const topLevel: Record<string, unknown> = {};
  const candidates = new Map<number, CandidateState>();
  let chunkCount = 0;
  for (const { json } of parseSseJson(sseText)) {
    if (typeof json === 'object' && json !== null && 'error' in json) return json;
    const chunk = parseWireBody(geminiResponseSchema(), json, 'a Gemini generateContent stream chunk');
    chunkCount++;
    const { candidates: chunkCandidates, ...rest } = chunk;
    Object.assign(topLevel, rest);
    for (const [position, candidate] of (chunkCandidates ?? []).entries()) {
      const key = candidate.index ?? position;
      let state = candidates.get(key);
      if (state === undefined) {
        state = { index: candidate.index, role: undefined, parts: [], extras: {} };
        candidates.set(key, state);
      }
      const { content, index: _index, ...extras } = candidate;
      Object.assign(state.extras, extras);
      if (content?.role !== undefined) state.role = content.role;
      for (const part of content?.parts ?? []) appendPart(state.parts, part);
    }
  }
  if (chunkCount === 0) throw new TypeError('Expected a Gemini streamGenerateContent SSE stream, but it held no chunks.');
  if (candidates.size === 0) return topLevel;
  return {
    candidates: [...candidates.entries()]
      .sort(([left], [right]) => left - right)
      .map(([, state]) => ({
        content: { parts: state.parts, ...(state.role === undefined ? {} : { role: state.role }) },
        ...state.extras,
        ...(state.index === undefined ? {} : { index: state.index }),
      })),
    ...topLevel,
  };
}

function appendPart(parts: GeminiPart[], part: GeminiPart): void {
  const last = parts.at(-1);
  if (last !== undefined && isTextPart(last) && isTextPart(part) && (last.thought === true) === (part.thought === true)) {
    const { text, ...fields } = part;
    parts[parts.length - 1] = { ...last, ...fields, text: `${last.text ?? ''}${text ?? ''}` };
    return;
  }
  parts.push({ ...part });
}
