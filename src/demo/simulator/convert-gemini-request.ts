import { lazySchema } from '../../tape/index.ts';
import type { SimulatorMessage } from './conversation-features.ts';
import type { SimulatorToolChoice } from './simulator-actions.ts';
import { invalidRequestFromZod, type SimulatorRequest, SimulatorRequestError } from './simulator-request.ts';

/**
 * Reads a Gemini generateContent body into a `SimulatorRequest`. SIMULATOR ONLY. The model and
 * whether to stream come from the URL path. `functionResponse` parts become `tool` messages named
 * after their function, so the scoring model sees the same conversation as from the other formats.
 */
const partSchema = lazySchema((z) =>
  z.looseObject({
    text: z.string().optional(),
    thought: z.boolean().optional(),
    functionResponse: z.looseObject({ name: z.string(), response: z.unknown().optional() }).optional(),
  }),
);
const contentSchema = lazySchema((z) => z.looseObject({ role: z.enum(['user', 'model']).optional(), parts: z.array(partSchema()) }));
const bodySchema = lazySchema((z) =>
  z.looseObject({
    contents: z.array(contentSchema()).min(1),
    systemInstruction: z.union([z.string(), z.looseObject({ parts: z.array(partSchema()) })]).optional(),
    tools: z.array(z.looseObject({ functionDeclarations: z.array(z.looseObject({ name: z.string() })).optional() })).optional(),
    toolConfig: z
      .looseObject({
        functionCallingConfig: z.looseObject({ mode: z.string().optional(), allowedFunctionNames: z.array(z.string()).optional() }).optional(),
      })
      .optional(),
    generationConfig: z.looseObject({ temperature: z.number().min(0).max(2).optional(), candidateCount: z.number().int().min(1).max(8).optional() }).optional(),
  }),
);

const textOf = (parts: Array<{ text?: string; thought?: boolean }>) =>
  parts
    .filter((part) => typeof part.text === 'string' && part.thought !== true && part.text !== '')
    .map((part) => part.text)
    .join('\n');

export function convertGeminiRequest(body: unknown, model: string, stream: boolean): SimulatorRequest {
  if (model === '') throw new SimulatorRequestError({ status: 400, type: 'invalid_request_error', message: 'The URL names no model' });
  const parsed = bodySchema().safeParse(body);
  if (!parsed.success) throw invalidRequestFromZod(parsed.error);
  const request = parsed.data;
  const messages: SimulatorMessage[] = [];
  const system = request.systemInstruction;
  const systemText = system === undefined ? '' : typeof system === 'string' ? system : textOf(system.parts);
  if (systemText !== '') messages.push({ role: 'system', text: systemText });
  for (const content of request.contents) {
    const role = content.role === 'model' ? 'assistant' : 'user';
    for (const part of content.parts) {
      if (part.functionResponse !== undefined) {
        messages.push({ role: 'tool', text: JSON.stringify(part.functionResponse.response ?? null), toolName: part.functionResponse.name });
      }
    }
    const text = textOf(content.parts);
    if (text !== '') messages.push({ role, text });
  }
  const offeredTools = (request.tools ?? []).flatMap((tool) => (tool.functionDeclarations ?? []).map((declaration) => declaration.name));
  const { systemInstruction: _system, ...seedBody } = body as Record<string, unknown>;
  return {
    apiKind: 'gemini',
    model,
    messages,
    offeredTools,
    toolChoice: mapToolChoice(request.toolConfig?.functionCallingConfig),
    temperature: request.generationConfig?.temperature ?? 1,
    choiceCount: request.generationConfig?.candidateCount ?? 1,
    stream,
    includeUsage: false,
    // The model is part of what was asked: in the body for the other formats, in the URL here.
    seedBody: { ...seedBody, model },
    promptCharacters: JSON.stringify({ system: request.systemInstruction ?? null, contents: request.contents, tools: request.tools ?? [] }).length,
  };
}

function mapToolChoice(config: { mode?: string; allowedFunctionNames?: string[] } | undefined): SimulatorToolChoice {
  if (config?.mode === 'NONE') return 'none';
  if (config?.mode === 'ANY') {
    const allowed = config.allowedFunctionNames ?? [];
    return allowed.length === 1 ? { name: allowed[0] as string } : 'required';
  }
  return 'auto';
}
