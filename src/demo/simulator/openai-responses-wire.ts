import type { SimulatedTurn } from './simulated-model.ts';
import { splitFixed, splitWords } from './stream-pieces.ts';

/**
 * Renders a simulated turn in the OpenAI Responses wire format: one `response` object, or the
 * named events of a stream (`response.created`, item and content-part events with text and
 * argument deltas, `response.completed` carrying the whole response). SIMULATOR ONLY.
 */
type Json = Record<string, unknown>;

export function renderOpenAiResponse(turn: SimulatedTurn): Json {
  const choice = turn.choices[0];
  if (choice === undefined) throw new TypeError('renderOpenAiResponse: the turn has no choice.');
  const content = choice.content;
  const output =
    content.kind === 'text'
      ? [
          {
            id: `msg_${choice.toolCallSuffix}`,
            type: 'message',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: content.text, annotations: [], logprobs: [] }],
          },
        ]
      : [
          {
            id: `fc_${choice.toolCallSuffix}`,
            type: 'function_call',
            status: 'completed',
            call_id: `call_${choice.toolCallSuffix}`,
            name: content.toolName,
            arguments: JSON.stringify(content.arguments),
          },
        ];
  return {
    id: `resp_${turn.idSuffix}`,
    object: 'response',
    created_at: turn.created,
    status: 'completed',
    error: null,
    incomplete_details: null,
    model: turn.version.id,
    output,
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: {
      input_tokens: turn.promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: choice.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: turn.promptTokens + choice.completionTokens,
    },
  };
}

/** The events of a stream, in order, each with its `type` also as the SSE event name. */
export function renderOpenAiResponseEvents(turn: SimulatedTurn): Json[] {
  const response = renderOpenAiResponse(turn);
  const [item] = response.output as Json[];
  if (item === undefined) throw new TypeError('renderOpenAiResponseEvents: the response has no output item.');
  const events: Json[] = [];
  const push = (type: string, fields: Json) => events.push({ type, sequence_number: events.length, ...fields });
  const started = { ...response, status: 'in_progress', output: [], usage: null };
  push('response.created', { response: started });
  push('response.in_progress', { response: started });
  const at = { item_id: item.id, output_index: 0 };
  if (item.type === 'message') {
    const text = String((item.content as Json[])[0]?.text ?? '');
    push('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    push('response.content_part.added', { ...at, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    for (const delta of splitWords(text, 3)) push('response.output_text.delta', { ...at, content_index: 0, delta, logprobs: [] });
    push('response.output_text.done', { ...at, content_index: 0, text, logprobs: [] });
    push('response.content_part.done', { ...at, content_index: 0, part: (item.content as Json[])[0] });
  } else {
    const argumentsText = String(item.arguments);
    push('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', arguments: '' } });
    for (const delta of splitFixed(argumentsText, 12)) push('response.function_call_arguments.delta', { ...at, delta });
    push('response.function_call_arguments.done', { ...at, arguments: argumentsText });
  }
  push('response.output_item.done', { output_index: 0, item });
  push('response.completed', { response });
  return events;
}
