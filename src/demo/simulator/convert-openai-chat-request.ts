import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';
import type { SimulatorMessage } from './conversation-features.ts';
import type { SimulatorToolChoice } from './simulator-actions.ts';
import { contentText, invalidRequestFromZod, type SimulatorRequest, withoutTransportFields } from './simulator-request.ts';

/**
 * Reads an OpenAI chat completions body into a `SimulatorRequest`. SIMULATOR ONLY. Validates
 * what the simulated model relies on and lets every other field through, as the real API would
 * accept parameters the simulator ignores (max_tokens, top_p, response_format, ...).
 */
const toolCallSchema = lazySchema((z) => z.looseObject({ id: z.string(), function: z.looseObject({ name: z.string() }) }));
const messageSchema = lazySchema((z) =>
  z.looseObject({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.unknown().optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCallSchema()).optional().nullable(),
    tool_call_id: z.string().optional(),
  }),
);
const bodySchema = lazySchema((z) =>
  z.looseObject({
    model: z.string().min(1),
    messages: z.array(messageSchema()).min(1),
    tools: z
      .array(z.looseObject({ type: z.string().optional(), function: z.looseObject({ name: z.string() }) }))
      .optional()
      .nullable(),
    tool_choice: z
      .union([z.enum(['auto', 'none', 'required']), z.looseObject({ function: z.looseObject({ name: z.string() }) })])
      .optional()
      .nullable(),
    temperature: z.number().min(0).max(2).optional().nullable(),
    n: z.number().int().min(1).max(128).optional().nullable(),
    stream: z.boolean().optional().nullable(),
    stream_options: z.looseObject({ include_usage: z.boolean().optional() }).optional().nullable(),
  }),
);

export function convertOpenAiChatRequest(body: unknown): SimulatorRequest {
  const parsed = bodySchema().safeParse(body);
  if (!parsed.success) throw invalidRequestFromZod(parsed.error);
  const request = parsed.data;
  const toolNamesByCallId = new Map<string, string>();
  const messages: SimulatorMessage[] = [];
  for (const message of request.messages) {
    for (const call of message.tool_calls ?? []) toolNamesByCallId.set(call.id, call.function.name);
    const text = contentText(message.content);
    if (message.role === 'tool' || message.role === 'function') {
      const toolName = message.role === 'function' ? message.name : toolNamesByCallId.get(message.tool_call_id ?? '');
      messages.push(toolName === undefined ? { role: 'tool', text } : { role: 'tool', text, toolName });
    } else {
      messages.push({ role: message.role === 'developer' ? 'system' : message.role, text });
    }
  }
  const tools = request.tools ?? [];
  return {
    apiKind: 'openai-chat',
    model: request.model,
    messages,
    offeredTools: tools.map((tool) => tool.function.name),
    toolChoice: mapToolChoice(request.tool_choice),
    temperature: request.temperature ?? 1,
    choiceCount: request.n ?? 1,
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
    seedBody: withoutTransportFields(body as Record<string, unknown>),
    // JSON.stringify gives the same length as canonical JSON (only key order differs), natively.
    promptCharacters: JSON.stringify({ messages: request.messages, tools }).length,
  };
}

function mapToolChoice(choice: z.infer<ReturnType<typeof bodySchema>>['tool_choice']): SimulatorToolChoice {
  if (choice === undefined || choice === null) return 'auto';
  return typeof choice === 'string' ? choice : { name: choice.function.name };
}
