import type { z } from 'zod';
import { lazySchema } from '../../tape/index.ts';
import type { SimulatorMessage } from './conversation-features.ts';
import type { SimulatorToolChoice } from './simulator-actions.ts';
import { contentText, invalidRequestFromZod, type SimulatorRequest, withoutTransportFields } from './simulator-request.ts';

/**
 * Reads an OpenAI Responses body into a `SimulatorRequest`. SIMULATOR ONLY. `instructions` and
 * system/developer items are system messages; `function_call` items name the tool whose
 * `function_call_output` follows. Fields the simulated model ignores pass through, as the real
 * API accepts them.
 */
const itemSchema = lazySchema((z) =>
  z.looseObject({
    type: z.string().optional(),
    role: z.string().optional(),
    content: z.unknown().optional(),
    call_id: z.string().optional(),
    name: z.string().optional(),
    output: z.unknown().optional(),
  }),
);
const bodySchema = lazySchema((z) =>
  z.looseObject({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(itemSchema()).min(1)]),
    instructions: z.string().nullish(),
    tools: z
      .array(z.looseObject({ type: z.string(), name: z.string().optional() }))
      .optional()
      .nullable(),
    tool_choice: z
      .union([z.enum(['auto', 'none', 'required']), z.looseObject({ type: z.string(), name: z.string().optional() })])
      .optional()
      .nullable(),
    temperature: z.number().min(0).max(2).optional().nullable(),
    stream: z.boolean().optional().nullable(),
  }),
);

export function convertOpenAiResponsesRequest(body: unknown): SimulatorRequest {
  const parsed = bodySchema().safeParse(body);
  if (!parsed.success) throw invalidRequestFromZod(parsed.error);
  const request = parsed.data;
  const messages: SimulatorMessage[] = [];
  if (request.instructions) messages.push({ role: 'system', text: request.instructions });
  const items = typeof request.input === 'string' ? [{ role: 'user', content: request.input }] : request.input;
  const toolNamesByCallId = new Map<string, string>();
  for (const item of items) {
    const type = item.type ?? 'message';
    if (type === 'function_call' && item.call_id !== undefined && item.name !== undefined) toolNamesByCallId.set(item.call_id, item.name);
    if (type === 'function_call_output') {
      const toolName = toolNamesByCallId.get(item.call_id ?? '');
      const text = typeof item.output === 'string' ? item.output : contentText(item.output);
      messages.push(toolName === undefined ? { role: 'tool', text } : { role: 'tool', text, toolName });
    } else if (type === 'message') {
      const role = item.role === 'developer' || item.role === 'system' ? 'system' : item.role === 'assistant' ? 'assistant' : 'user';
      messages.push({ role, text: contentText(item.content) });
    }
  }
  const tools = (request.tools ?? []).filter((tool) => tool.type === 'function' && tool.name !== undefined);
  // System prompts stay out of the seed, as for the other formats (see `seedBody`).
  const seedBody = withoutTransportFields(body as Record<string, unknown>);
  delete seedBody.instructions;
  if (Array.isArray(seedBody.input))
    seedBody.input = seedBody.input.filter((item: { role?: unknown }) => item?.role !== 'system' && item?.role !== 'developer');
  return {
    apiKind: 'openai-responses',
    model: request.model,
    messages,
    offeredTools: tools.map((tool) => tool.name as string),
    toolChoice: mapToolChoice(request.tool_choice),
    temperature: request.temperature ?? 1,
    choiceCount: 1,
    stream: request.stream === true,
    includeUsage: true,
    seedBody,
    promptCharacters: JSON.stringify({ input: request.input, tools }).length,
  };
}

function mapToolChoice(choice: z.infer<ReturnType<typeof bodySchema>>['tool_choice']): SimulatorToolChoice {
  if (choice === undefined || choice === null) return 'auto';
  if (typeof choice === 'string') return choice;
  return choice.name === undefined ? 'auto' : { name: choice.name };
}
