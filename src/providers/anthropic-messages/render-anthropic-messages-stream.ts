import { parseWireBody } from '../parse-wire-body.ts';
import { splitText } from '../split-text.ts';
import { type AnthropicMessagesBlock, anthropicMessagesResponseSchema } from './anthropic-messages-api-types.ts';

/** Usage counters Anthropic repeats (as cumulative totals) in `message_delta`. */
const deltaUsageNames = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'output_tokens', 'server_tool_use', 'output_tokens_details'];
/** Message fields that `message_delta` sets besides the stop reason, when the body has them. */
const deltaMessageNames = ['stop_details', 'container'];

/**
 * Renders an Anthropic `message` body as the SSE events a streamed call would have produced, for
 * replaying a stream whose original chunks were not recorded: message_start with empty content,
 * a ping, per block a start, its deltas and a stop, then message_delta and message_stop.
 * The real Anthropic SDK's `finalMessage()` over these events gives back the body.
 */
export function renderAnthropicMessagesStream(body: unknown): string[] {
  const message = parseWireBody(anthropicMessagesResponseSchema(), body, 'an Anthropic Messages response body');
  const renderEvent = (payload: { type: string; [key: string]: unknown }) => `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`;
  const pick = (source: Record<string, unknown>, names: string[]) =>
    Object.fromEntries(names.filter((name) => name in source).map((name) => [name, source[name]]));

  const startMessage = {
    ...message,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    ...('stop_details' in message ? { stop_details: null } : {}),
    // The real stream reports the first output token here and the final count in message_delta.
    usage: { ...message.usage, output_tokens: Math.min(message.usage.output_tokens, 1) },
  };
  const events = [renderEvent({ type: 'message_start', message: startMessage }), renderEvent({ type: 'ping' })];
  message.content.forEach((block, index) => {
    events.push(renderEvent({ type: 'content_block_start', index, content_block: renderEmptyBlock(block) }));
    for (const delta of renderBlockDeltas(block)) events.push(renderEvent({ type: 'content_block_delta', index, delta }));
    events.push(renderEvent({ type: 'content_block_stop', index }));
  });
  events.push(
    renderEvent({
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence ?? null, ...pick(message, deltaMessageNames) },
      usage: pick(message.usage, deltaUsageNames),
    }),
    renderEvent({ type: 'message_stop' }),
  );
  return events;
}

/** A block as `content_block_start` announces it: streamed fields empty, the rest as final. */
function renderEmptyBlock(block: AnthropicMessagesBlock): AnthropicMessagesBlock {
  switch (block.type) {
    case 'text':
      return { ...block, text: '', ...(Array.isArray(block.citations) ? { citations: [] } : {}) };
    case 'tool_use':
    case 'server_tool_use':
      return { ...block, input: {} };
    case 'thinking':
      return { ...block, thinking: '', signature: '' };
    default:
      return block;
  }
}

function renderBlockDeltas(block: AnthropicMessagesBlock): Array<Record<string, unknown>> {
  switch (block.type) {
    case 'text': {
      const textDeltas = splitText(String(block.text)).map((text) => ({ type: 'text_delta', text }));
      const citations = Array.isArray(block.citations) ? block.citations : [];
      return [...textDeltas, ...citations.map((citation) => ({ type: 'citations_delta', citation }))];
    }
    case 'tool_use':
    case 'server_tool_use':
      return splitText(JSON.stringify(block.input ?? {}), 12).map((partialJson) => ({ type: 'input_json_delta', partial_json: partialJson }));
    case 'thinking':
      return [
        ...splitText(String(block.thinking)).map((thinking) => ({ type: 'thinking_delta', thinking })),
        { type: 'signature_delta', signature: block.signature },
      ];
    default:
      return [];
  }
}
