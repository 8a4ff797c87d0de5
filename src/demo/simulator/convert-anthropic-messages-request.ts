import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';
import type { SimulatorMessage } from './conversation-features.ts';
import type { SimulatorToolChoice } from './simulator-actions.ts';
import { contentText, invalidRequestFromZod, type SimulatorRequest, withoutTransportFields } from './simulator-request.ts';

/**
 * Reads an Anthropic messages body into a `SimulatorRequest`. SIMULATOR ONLY. `tool_result`
 * blocks inside user turns become `tool` messages named after the `tool_use` they answer, so
 * the scoring model sees the same conversation it would see from the OpenAI format.
 */
const blockSchema = lazySchema((z) =>
  z.looseObject({
    type: z.string(),
    text: z.string().optional(),
    id: z.string().optional(),
    name: z.string().optional(),
    tool_use_id: z.string().optional(),
    content: z.unknown().optional(),
  }),
);
const bodySchema = lazySchema((z) =>
  z.looseObject({
    model: z.string().min(1),
    max_tokens: z.number().int().min(1),
    system: z.union([z.string(), z.array(blockSchema())]).optional(),
    messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(blockSchema())]) })).min(1),
    tools: z.array(z.looseObject({ name: z.string() })).optional(),
    tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']), name: z.string().optional() }).optional(),
    temperature: z.number().min(0).max(1).optional(),
    stream: z.boolean().optional(),
  }),
);

export function convertAnthropicMessagesRequest(body: unknown): SimulatorRequest {
  const parsed = bodySchema().safeParse(body);
  if (!parsed.success) throw invalidRequestFromZod(parsed.error);
  const request = parsed.data;
  const messages: SimulatorMessage[] = [];
  const systemText = contentText(request.system);
  if (systemText !== '') messages.push({ role: 'system', text: systemText });
  const toolNamesByUseId = new Map<string, string>();
  for (const message of request.messages) {
    if (typeof message.content === 'string') {
      messages.push({ role: message.role, text: message.content });
      continue;
    }
    const texts: string[] = [];
    for (const block of message.content) {
      if (block.type === 'text' && block.text !== undefined) texts.push(block.text);
      if (block.type === 'tool_use' && block.id !== undefined && block.name !== undefined) toolNamesByUseId.set(block.id, block.name);
      if (block.type === 'tool_result') {
        const toolName = toolNamesByUseId.get(block.tool_use_id ?? '');
        const text = contentText(block.content);
        messages.push(toolName === undefined ? { role: 'tool', text } : { role: 'tool', text, toolName });
      }
    }
    if (texts.length > 0) messages.push({ role: message.role, text: texts.join('\n') });
  }
  const tools = request.tools ?? [];
  return {
    apiKind: 'anthropic-messages',
    model: request.model,
    messages,
    offeredTools: tools.map((tool) => tool.name),
    toolChoice: mapToolChoice(request.tool_choice),
    temperature: request.temperature ?? 1,
    choiceCount: 1,
    stream: request.stream === true,
    includeUsage: false,
    seedBody: withoutTransportFields(body as Record<string, unknown>),
    // JSON.stringify gives the same length as canonical JSON (only key order differs), natively.
    promptCharacters: JSON.stringify({ system: request.system ?? null, messages: request.messages, tools }).length,
  };
}

function mapToolChoice(choice: z.infer<ReturnType<typeof bodySchema>>['tool_choice']): SimulatorToolChoice {
  if (choice === undefined || choice.type === 'auto') return 'auto';
  if (choice.type === 'any') return 'required';
  if (choice.type === 'none') return 'none';
  return { name: choice.name ?? '' };
}
