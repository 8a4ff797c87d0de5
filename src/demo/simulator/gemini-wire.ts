import type { SimulatedTurn } from './simulated-model.ts';
import { splitWords } from './stream-pieces.ts';

/**
 * Renders a simulated turn in the Gemini generateContent wire format: one
 * `GenerateContentResponse`, or the chunks of `streamGenerateContent?alt=sse`, each a response
 * of its own (text a few words per chunk, a function call whole, the finish reason and usage on
 * the last). SIMULATOR ONLY.
 */
type Json = Record<string, unknown>;

function usageOf(turn: SimulatedTurn): Json {
  const completion = turn.choices.reduce((total, choice) => total + choice.completionTokens, 0);
  return { promptTokenCount: turn.promptTokens, candidatesTokenCount: completion, totalTokenCount: turn.promptTokens + completion };
}

function partsOf(choice: SimulatedTurn['choices'][number]): Json[] {
  const content = choice.content;
  if (content.kind === 'text') return [{ text: content.text }];
  return [{ functionCall: { name: content.toolName, args: content.arguments } }];
}

export function renderGeminiResponse(turn: SimulatedTurn): Json {
  return {
    candidates: turn.choices.map((choice, index) => ({ content: { parts: partsOf(choice), role: 'model' }, finishReason: 'STOP', index })),
    usageMetadata: usageOf(turn),
    modelVersion: turn.version.id,
    responseId: turn.idSuffix,
  };
}

export function renderGeminiChunks(turn: SimulatedTurn): Json[] {
  const header = { modelVersion: turn.version.id, responseId: turn.idSuffix };
  const chunks: Json[] = [];
  turn.choices.forEach((choice, index) => {
    const content = choice.content;
    const parts = content.kind === 'text' ? splitWords(content.text, 3).map((text) => ({ text })) : partsOf(choice);
    parts.forEach((part, position) => {
      const last = position === parts.length - 1;
      chunks.push({ candidates: [{ content: { parts: [part], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index }], ...header });
    });
  });
  const final = chunks.at(-1);
  if (final !== undefined) final.usageMetadata = usageOf(turn);
  return chunks;
}
