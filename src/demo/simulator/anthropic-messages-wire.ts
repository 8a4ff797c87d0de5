import type { SimulatedTurn } from './simulated-model.ts';
import { splitFixed, splitWords } from './stream-pieces.ts';

/**
 * Renders a simulated turn in the Anthropic messages wire format: one `message` object, or the
 * server-sent event sequence of a stream (message_start, content_block_start, a ping,
 * text_delta / input_json_delta pieces, content_block_stop, message_delta with the stop reason,
 * message_stop). SIMULATOR ONLY.
 */
type Json = Record<string, unknown>;
export interface AnthropicStreamEvent {
  event: string;
  data: Json;
}

export function renderAnthropicMessage(turn: SimulatedTurn): Json {
  const choice = firstChoice(turn);
  const content = choice.content;
  return {
    id: `msg_${turn.idSuffix}`,
    type: 'message',
    role: 'assistant',
    model: turn.version.id,
    content:
      content.kind === 'text'
        ? [{ type: 'text', text: content.text }]
        : [{ type: 'tool_use', id: `toolu_${choice.toolCallSuffix}`, name: content.toolName, input: content.arguments }],
    stop_reason: content.kind === 'text' ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: turn.promptTokens, output_tokens: choice.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

export function renderAnthropicEvents(turn: SimulatedTurn): AnthropicStreamEvent[] {
  const message = renderAnthropicMessage(turn);
  const choice = firstChoice(turn);
  const content = choice.content;
  const event = (name: string, data: Json): AnthropicStreamEvent => ({ event: name, data: { type: name, ...data } });
  const events: AnthropicStreamEvent[] = [
    event('message_start', {
      message: { ...message, content: [], stop_reason: null, usage: { ...(message.usage as Json), output_tokens: 1 } },
    }),
  ];
  if (content.kind === 'text') {
    events.push(event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    events.push(event('ping', {}));
    for (const piece of splitWords(content.text, 3)) events.push(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }));
  } else {
    const block = { type: 'tool_use', id: `toolu_${choice.toolCallSuffix}`, name: content.toolName, input: {} };
    events.push(event('content_block_start', { index: 0, content_block: block }));
    events.push(event('ping', {}));
    for (const fragment of splitFixed(JSON.stringify(content.arguments), 12)) {
      events.push(event('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: fragment } }));
    }
  }
  events.push(event('content_block_stop', { index: 0 }));
  events.push(event('message_delta', { delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: choice.completionTokens } }));
  events.push(event('message_stop', {}));
  return events;
}

function firstChoice(turn: SimulatedTurn) {
  const choice = turn.choices[0];
  if (!choice) throw new TypeError('renderAnthropicMessage: the turn has no choice.');
  return choice;
}
