import { parseGeminiPath } from '../providers/index.ts';

/** What a fork changes from its fork point on. Stored in the child's header as `fork.overrides`. */
export interface ForkOverrides {
  /** Model name to send instead of the recorded one. */
  model?: string;
  /** Replaces the system prompt (OpenAI: the first system/developer message; Responses: `instructions`; Anthropic: `system`). */
  systemPrompt?: string;
  temperature?: number;
}

/** Applies the overrides to a request body (JSON text), keeping everything else as the agent built it. */
export function applyForkOverrides(bodyText: string, overrides: ForkOverrides): string {
  if (overrides.model === undefined && overrides.systemPrompt === undefined && overrides.temperature === undefined) return bodyText;
  const body = JSON.parse(bodyText) as Record<string, unknown>;
  if (Array.isArray(body.contents)) return applyToGeminiBody(body, overrides);
  if (overrides.model !== undefined) body.model = overrides.model;
  if (overrides.temperature !== undefined) body.temperature = overrides.temperature;
  if (overrides.systemPrompt !== undefined) {
    if (typeof body.system === 'string' || Array.isArray(body.system)) body.system = overrides.systemPrompt;
    // OpenAI Responses: `instructions`, or the first system/developer item of `input` when the agent put it there.
    else if (typeof body.instructions === 'string' || (!Array.isArray(body.messages) && 'input' in body)) {
      const items = Array.isArray(body.input) ? (body.input as Array<Record<string, unknown>>) : [];
      const first = items.findIndex((item) => item.role === 'system' || item.role === 'developer');
      if (typeof body.instructions !== 'string' && first !== -1) items[first] = { ...items[first], content: overrides.systemPrompt };
      else body.instructions = overrides.systemPrompt;
    } else if (Array.isArray(body.messages)) {
      const messages = body.messages as Array<Record<string, unknown>>;
      const first = messages.findIndex((message) => message.role === 'system' || message.role === 'developer');
      if (first === -1) messages.unshift({ role: 'system', content: overrides.systemPrompt });
      else messages[first] = { ...messages[first], content: overrides.systemPrompt };
    }
  }
  return JSON.stringify(body);
}

/** Gemini keeps sampling in `generationConfig` and the system prompt in `systemInstruction`; its model is in the URL. */
function applyToGeminiBody(body: Record<string, unknown>, overrides: ForkOverrides): string {
  if (overrides.temperature !== undefined) body.generationConfig = { ...(body.generationConfig as object | undefined), temperature: overrides.temperature };
  if (overrides.systemPrompt !== undefined) body.systemInstruction = { parts: [{ text: overrides.systemPrompt }] };
  return JSON.stringify(body);
}

/** The request URL with the model override applied, for formats that name the model in the URL (Gemini); others unchanged. */
export function applyForkOverridesToUrl(url: string, overrides: ForkOverrides): string {
  const { model } = overrides;
  if (model === undefined || parseGeminiPath(url) === undefined) return url;
  return url.replace(/\/models\/[^/:?]+:(generateContent|streamGenerateContent)/, (_match, method: string) => `/models/${encodeURIComponent(model)}:${method}`);
}
