import type { CanonicalMessage, CanonicalPart } from '../../tape/index.ts';
import { parseJsonOrString } from '../parse-json-or-string.ts';
import type { OpenaiChatMessage, OpenaiChatToolCall } from './openai-chat-api-types.ts';

/**
 * Converts OpenAI chat messages to canonical ones. `developer` is OpenAI's newer name for the
 * system role, so both become `system`; tool results are parsed so that the same JSON sent with
 * different whitespace compares equal.
 */
export function convertToCanonicalMessages(messages: OpenaiChatMessage[]): CanonicalMessage[] {
  return messages.map(convertMessage);
}

function convertMessage(message: OpenaiChatMessage): CanonicalMessage {
  const name = message.role !== 'function' && typeof message.name === 'string' ? message.name : undefined;
  const withName = (converted: CanonicalMessage) => (name === undefined ? converted : { ...converted, name });
  switch (message.role) {
    case 'system':
    case 'developer':
      return withName({ role: 'system', content: convertContent(message.content) });
    case 'user':
      return withName({ role: 'user', content: convertContent(message.content) });
    case 'assistant': {
      const content = message.content == null ? [] : convertContent(message.content);
      if (message.refusal != null) content.push({ type: 'other', raw: { type: 'refusal', refusal: message.refusal } });
      for (const toolCall of message.tool_calls ?? []) content.push(convertToolCall(toolCall));
      return withName({ role: 'assistant', content });
    }
    case 'tool':
      return {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: message.tool_call_id, output: parseToolOutput(message.content) }],
      };
    case 'function':
      return {
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: '', toolName: message.name, output: parseToolOutput(message.content ?? '') }],
      };
  }
}

/** Converts one `tool_calls` entry; arguments that aren't valid JSON are kept as the raw string. */
export function convertToolCall(toolCall: OpenaiChatToolCall): CanonicalPart {
  if (toolCall.function !== undefined) {
    const rawArguments = toolCall.function.arguments;
    return { type: 'tool-call', toolCallId: toolCall.id, toolName: toolCall.function.name, input: parseJsonOrString(rawArguments), rawArguments };
  }
  if (toolCall.custom !== undefined) {
    return { type: 'tool-call', toolCallId: toolCall.id, toolName: toolCall.custom.name, input: toolCall.custom.input };
  }
  return { type: 'other', raw: toolCall };
}

function convertContent(content: string | Array<{ type: string; [key: string]: unknown }>): CanonicalPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part): CanonicalPart => {
    if (part.type === 'text' && typeof part.text === 'string') return { type: 'text', text: part.text };
    if (part.type === 'image_url') return { type: 'image', source: { type: 'url', ...(part.image_url as object) } };
    return { type: 'other', raw: part };
  });
}

/** Tool output arrives as a string or as text parts; either way the canonical output is its parsed JSON. */
function parseToolOutput(content: string | Array<{ type: string; [key: string]: unknown }>): unknown {
  if (typeof content === 'string') return parseJsonOrString(content);
  const texts = content.filter((part) => part.type === 'text' && typeof part.text === 'string');
  if (texts.length !== content.length) return content;
  return parseJsonOrString(texts.map((part) => part.text).join(''));
}
