import type { CanonicalMessage, CanonicalPart } from '../../tape/index.ts';
import { parseJsonOrString } from '../parse-json-or-string.ts';
import type { AnthropicMessagesBlock, AnthropicMessagesRequest } from './anthropic-messages-api-types.ts';

/**
 * Converts Anthropic's top-level `system` and its `messages` to canonical messages. The system
 * prompt becomes a leading `system` message, as OpenAI would carry it. Anthropic returns tool
 * results inside user messages; a user message holding nothing but tool results becomes a `tool`
 * message, so a tool round trip looks the same in both formats, while a user message that mixes
 * results with text stays a user message (splitting it would invent an order the caller never sent).
 */
export function convertToCanonicalMessages(system: AnthropicMessagesRequest['system'], messages: AnthropicMessagesRequest['messages']): CanonicalMessage[] {
  const canonical: CanonicalMessage[] = [];
  if (system !== undefined) {
    canonical.push({ role: 'system', content: typeof system === 'string' ? [{ type: 'text', text: system }] : system.map(convertToCanonicalPart) });
  }
  for (const message of messages) {
    if (typeof message.content === 'string') {
      canonical.push({ role: message.role, content: [{ type: 'text', text: message.content }] });
      continue;
    }
    const onlyToolResults = message.content.length > 0 && message.content.every((block) => block.type === 'tool_result');
    const role = message.role === 'user' && onlyToolResults ? 'tool' : message.role;
    canonical.push({ role, content: message.content.map(convertToCanonicalPart) });
  }
  return canonical;
}

/**
 * Converts one content block, in a request or a response. Prompt-caching marks (`cache_control`)
 * are left out: they change billing, not what the model sees. Blocks with no canonical
 * counterpart (thinking, documents, server tool blocks) are kept whole as `other`.
 */
export function convertToCanonicalPart(block: AnthropicMessagesBlock): CanonicalPart {
  switch (block.type) {
    case 'text':
      if (typeof block.text === 'string') return { type: 'text', text: block.text };
      break;
    case 'image':
      return { type: 'image', source: block.source };
    case 'tool_use':
      if (typeof block.id === 'string' && typeof block.name === 'string') {
        return { type: 'tool-call', toolCallId: block.id, toolName: block.name, input: block.input };
      }
      break;
    case 'tool_result':
      if (typeof block.tool_use_id === 'string') {
        return {
          type: 'tool-result',
          toolCallId: block.tool_use_id,
          output: convertToolResultContent(block.content),
          ...(typeof block.is_error === 'boolean' ? { isError: block.is_error } : {}),
        };
      }
      break;
  }
  return { type: 'other', raw: block };
}

/** Tool result content is a string or blocks; text-only content is parsed as JSON where it is JSON. */
function convertToolResultContent(content: unknown): unknown {
  if (content === undefined) return null;
  if (typeof content === 'string') return parseJsonOrString(content);
  if (!Array.isArray(content)) return content;
  const texts = content.filter((block) => block?.type === 'text' && typeof block.text === 'string');
  if (texts.length !== content.length) return content;
  return parseJsonOrString(texts.map((block) => block.text).join(''));
}
