import type { CanonicalMessage, CanonicalPart } from '../../tape/index.ts';
import { parseJsonOrString } from '../parse-json-or-string.ts';
import type { OpenaiResponsesItem, OpenaiResponsesRequest } from './openai-responses-api-types.ts';

type Role = CanonicalMessage['role'];

/**
 * Converts `instructions` and `input` to canonical messages. The instructions become a leading
 * `system` message; a string input is one user message. Items the model produced earlier
 * (`function_call`, `reasoning`, an assistant message) that follow each other join one assistant
 * message, so a turn with parallel tool calls reads as it does in chat completions; each
 * `function_call_output` is a `tool` message. The ids of message and function call items are
 * left out (a call is known by its `call_id`); items with no canonical counterpart stay whole.
 */
export function convertToCanonicalMessages(instructions: OpenaiResponsesRequest['instructions'], input: OpenaiResponsesRequest['input']): CanonicalMessage[] {
  const messages: CanonicalMessage[] = [];
  if (typeof instructions === 'string') messages.push({ role: 'system', content: [{ type: 'text', text: instructions }] });
  if (input === undefined) return messages;
  if (typeof input === 'string') {
    messages.push({ role: 'user', content: [{ type: 'text', text: input }] });
    return messages;
  }
  let assistantTurn: CanonicalMessage | null = null;
  for (const item of input) {
    const { role, parts } = convertItem(item);
    if (role === 'assistant') {
      if (assistantTurn === null) {
        assistantTurn = { role, content: [] };
        messages.push(assistantTurn);
      }
      assistantTurn.content.push(...parts);
      continue;
    }
    assistantTurn = null;
    messages.push({ role, content: parts });
  }
  return messages;
}

function convertItem(item: OpenaiResponsesItem): { role: Role; parts: CanonicalPart[] } {
  const type = item.type ?? 'message';
  if (type === 'message') {
    const role: Role = item.role === 'developer' ? 'system' : item.role === 'system' || item.role === 'assistant' ? item.role : 'user';
    return { role, parts: convertContent(item.content) };
  }
  if (type === 'function_call_output' && typeof item.call_id === 'string') {
    return { role: 'tool', parts: [{ type: 'tool-result', toolCallId: item.call_id, output: convertOutput(item.output) }] };
  }
  const part = convertOutputItem(item as OpenaiResponsesItem & { type: string });
  // Hosted tools' results and other *_output items are what the caller hands back, like tool results.
  return { role: type.endsWith('_output') ? 'tool' : 'assistant', parts: [part] };
}

/**
 * Converts an item the model produces (in a response, or sent back as input): a function call
 * becomes a tool call; a message's parts become text; anything else is kept whole as `other`.
 */
export function convertOutputItem(item: { type: string; [key: string]: unknown }): CanonicalPart {
  if (item.type === 'function_call' && typeof item.call_id === 'string' && typeof item.name === 'string') {
    const rawArguments = typeof item.arguments === 'string' ? item.arguments : '';
    return { type: 'tool-call', toolCallId: item.call_id, toolName: item.name, input: parseJsonOrString(rawArguments), rawArguments };
  }
  if (item.type === 'custom_tool_call' && typeof item.call_id === 'string' && typeof item.name === 'string') {
    return { type: 'tool-call', toolCallId: item.call_id, toolName: item.name, input: item.input };
  }
  // Kept whole, id included: an `item_reference` is nothing but its id.
  return { type: 'other', raw: item };
}

/** Message content: a string, or parts (`input_text`, `output_text`, `input_image`, `refusal`, ...). */
export function convertContent(content: unknown): CanonicalPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((part: { type?: unknown; text?: unknown; [key: string]: unknown }): CanonicalPart => {
    if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string') {
      // Annotations and logprobs of earlier output are what the API returned, not what the model reads.
      return { type: 'text', text: part.text };
    }
    if (part.type === 'input_image') return { type: 'image', source: part.image_url ?? part.file_id ?? null };
    return { type: 'other', raw: part };
  });
}

/** A function call's output: a string (parsed as JSON where it is JSON) or content parts. */
function convertOutput(output: unknown): unknown {
  if (typeof output === 'string') return parseJsonOrString(output);
  return output ?? null;
}
