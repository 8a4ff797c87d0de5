import { lazySchema } from '../../tape/index.ts';
import { parseJsonOrString } from '../parse-json-or-string.ts';
import { parseSseJson } from '../parse-sse-json.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import { type AnthropicMessagesStreamEvent, anthropicMessagesStreamEventSchema } from './anthropic-messages-api-types.ts';

type Block = Record<string, unknown>;
type MessageSnapshot = Record<string, unknown> & { content: Block[]; usage: Record<string, unknown> };
const knownEventTypes = lazySchema(() => new Set<string>(anthropicMessagesStreamEventSchema().options.map((option) => option.shape.type.value)));

/**
 * Rebuilds the `message` body a non-streamed call would have returned from the SSE text of a
 * streamed one: `message_start` gives the skeleton, block deltas fill the content (tool input
 * arrives as `input_json_delta` fragments and is parsed once its block stops), and
 * `message_delta` sets the stop reason and the final cumulative usage. Event types Anthropic adds
 * later are skipped, as its versioning policy asks; an `error` event is returned as is, since
 * that is the body a non-streamed call would have returned.
 */
export function assembleAnthropicMessagesStream(sseText: string): unknown {
  let message: MessageSnapshot | undefined;
  const toolInputBuffers = new Map<number, string>();
  for (const { json } of parseSseJson(sseText)) {
    const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
    if (typeof type !== 'string' || !knownEventTypes().has(type)) continue;
    const event = parseWireBody(anthropicMessagesStreamEventSchema(), json, 'an Anthropic Messages stream event');
    if (event.type === 'error') return event;
    if (event.type === 'message_start') {
      message = { ...event.message, content: [...event.message.content], usage: { ...event.message.usage } };
      continue;
    }
    if (event.type === 'ping') continue;
    if (message === undefined) throw new TypeError(`Expected an Anthropic Messages stream to begin with message_start, but got ${event.type} first.`);
    applyEvent(message, event, toolInputBuffers);
  }
  if (message === undefined) throw new TypeError('Expected an Anthropic Messages SSE stream, but it held no message_start event.');
  return message;
}

function applyEvent(message: MessageSnapshot, event: AnthropicMessagesStreamEvent, toolInputBuffers: Map<number, string>): void {
  switch (event.type) {
    case 'content_block_start':
      message.content[event.index] = { ...event.content_block };
      return;
    case 'content_block_delta': {
      const block = message.content[event.index];
      if (block === undefined) throw new TypeError(`Anthropic stream sent a delta for content block ${event.index} before its start.`);
      applyBlockDelta(block, event.delta, event.index, toolInputBuffers);
      return;
    }
    case 'content_block_stop': {
      const block = message.content[event.index];
      const buffer = toolInputBuffers.get(event.index);
      if (block !== undefined && buffer !== undefined) block.input = buffer === '' ? {} : parseJsonOrString(buffer);
      return;
    }
    case 'message_delta':
      Object.assign(message, event.delta);
      // Usage counters here are cumulative totals; absent or null ones keep the message_start value.
      for (const [name, value] of Object.entries(event.usage)) if (value != null) message.usage[name] = value;
      return;
    default:
      return;
  }
}

function applyBlockDelta(block: Block, delta: Record<string, unknown> & { type: string }, index: number, toolInputBuffers: Map<number, string>): void {
  switch (delta.type) {
    case 'text_delta':
      block.text = String(block.text ?? '') + String(delta.text ?? '');
      return;
    case 'input_json_delta':
      toolInputBuffers.set(index, (toolInputBuffers.get(index) ?? '') + String(delta.partial_json ?? ''));
      return;
    case 'thinking_delta':
      block.thinking = String(block.thinking ?? '') + String(delta.thinking ?? '');
      return;
    case 'signature_delta':
      block.signature = delta.signature;
      return;
    case 'citations_delta':
      block.citations = [...((block.citations as unknown[] | null | undefined) ?? []), delta.citation];
      return;
  }
}
