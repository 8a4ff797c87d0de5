import type { SimulatedChoice, SimulatedTurn } from './simulated-model.ts';
import { splitFixed, splitWords } from './stream-pieces.ts';

/**
 * Renders a simulated turn in the OpenAI chat completions wire format: one `chat.completion`
 * object, or the `chat.completion.chunk` sequence of a stream. SIMULATOR ONLY. The stream is
 * shaped like the real one (role first, text in word-sized pieces, tool call arguments in
 * several fragments with an `index`, a finish chunk, an optional usage chunk) so stream
 * assemblers are exercised on something realistic.
 */
type Json = Record<string, unknown>;

export function renderOpenAiChatCompletion(turn: SimulatedTurn): Json {
  return {
    id: `chatcmpl-${turn.idSuffix}`,
    object: 'chat.completion',
    created: turn.created,
    model: turn.version.id,
    system_fingerprint: turn.version.fingerprint,
    choices: turn.choices.map((choice, index) => ({
      index,
      message: {
        role: 'assistant',
        content: choice.content.kind === 'text' ? choice.content.text : null,
        refusal: null,
        ...(choice.content.kind === 'tool' ? { tool_calls: [toolCall(choice)] } : {}),
      },
      logprobs: null,
      finish_reason: finishReason(choice),
    })),
    usage: usage(turn),
  };
}

/** The chunk objects of a stream, in order; the server writes each as `data: <json>` and then `data: [DONE]`. */
export function renderOpenAiChatChunks(turn: SimulatedTurn, includeUsage: boolean): Json[] {
  const envelope = (choices: Json[]): Json => ({
    id: `chatcmpl-${turn.idSuffix}`,
    object: 'chat.completion.chunk',
    created: turn.created,
    model: turn.version.id,
    system_fingerprint: turn.version.fingerprint,
    choices,
    // With include_usage the real API sends `usage: null` on every chunk but the last.
    ...(includeUsage ? { usage: null } : {}),
  });
  const delta = (index: number, body: Json, finish: string | null = null): Json => envelope([{ index, delta: body, logprobs: null, finish_reason: finish }]);
  const chunks: Json[] = [];
  turn.choices.forEach((choice, index) => {
    const content = choice.content;
    if (content.kind === 'text') {
      chunks.push(delta(index, { role: 'assistant', content: '', refusal: null }));
      for (const piece of splitWords(content.text, 3)) chunks.push(delta(index, { content: piece }));
    } else {
      const call = toolCall(choice);
      chunks.push(
        delta(index, {
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: content.toolName, arguments: '' } }],
        }),
      );
      for (const fragment of splitFixed(call.function.arguments, 12)) {
        chunks.push(delta(index, { tool_calls: [{ index: 0, function: { arguments: fragment } }] }));
      }
    }
    chunks.push(delta(index, {}, finishReason(choice)));
  });
  if (includeUsage) chunks.push({ ...envelope([]), usage: usage(turn) });
  return chunks;
}

function toolCall(choice: SimulatedChoice) {
  const content = choice.content;
  if (content.kind !== 'tool') throw new TypeError('toolCall: the choice is a text reply.');
  return { id: `call_${choice.toolCallSuffix}`, type: 'function', function: { name: content.toolName, arguments: JSON.stringify(content.arguments) } };
}

function finishReason(choice: SimulatedChoice): string {
  return choice.content.kind === 'tool' ? 'tool_calls' : 'stop';
}

function usage(turn: SimulatedTurn): Json {
  const completionTokens = turn.choices.reduce((sum, choice) => sum + choice.completionTokens, 0);
  return { prompt_tokens: turn.promptTokens, completion_tokens: completionTokens, total_tokens: turn.promptTokens + completionTokens };
}
