import type { CanonicalTool } from '../../tape/index.ts';
import { fillSamplingDefaults } from '../fill-sampling-defaults.ts';
import { parseWireBody } from '../parse-wire-body.ts';
import type { CanonicalRequestDraft } from '../wire-format.ts';
import { convertToCanonicalMessages } from './convert-to-canonical-messages.ts';
import { type GeminiRequest, geminiRequestSchema } from './gemini-api-types.ts';

/**
 * Gemini's sampling parameters (`generationConfig`), plus the request fields that change what the
 * model may answer. Only defaults Google documents for every model are filled in (temperature 1,
 * one candidate); the model-dependent ones (topP, topK) stay null, so a request only equals
 * another that also left them out.
 */
const samplingDefaults = {
  temperature: 1,
  topP: null,
  topK: null,
  candidateCount: 1,
  maxOutputTokens: null,
  stopSequences: null,
  presencePenalty: null,
  frequencyPenalty: null,
  seed: null,
  responseLogprobs: false,
  logprobs: null,
  thinkingConfig: null,
  mediaResolution: null,
  responseModalities: null,
  safetySettings: null,
  cachedContent: null,
} as const;

/** `models/gemini-2.5-flash:generateContent` (or Vertex's `.../publishers/google/models/...`) in a URL path. */
const GEMINI_PATH = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** The model and method a Gemini request URL names, or undefined when it is not such a URL. */
export function parseGeminiPath(url: string): { model: string; stream: boolean } | undefined {
  let pathname: string;
  try {
    pathname = new URL(url, 'http://relative.invalid').pathname;
  } catch {
    return undefined;
  }
  const match = GEMINI_PATH.exec(pathname.replace(/\/+$/, ''));
  if (!match) return undefined;
  return { model: decodeURIComponent(match[1] as string), stream: match[2] === 'streamGenerateContent' };
}

/**
 * Converts a Gemini `generateContent` request body to its canonical form. The model and whether
 * it streams are in the URL path, not the body, so the URL is needed; without it the model is ''.
 */
export function convertToCanonicalRequest(body: unknown, url?: string): CanonicalRequestDraft {
  const request = parseWireBody(geminiRequestSchema(), body, 'a Gemini generateContent request body');
  const path = url === undefined ? undefined : parseGeminiPath(url);
  const tools = convertTools(request.tools);
  const { responseMimeType, responseSchema, responseJsonSchema, ...generationConfig } = request.generationConfig ?? {};
  const responseFormat = Object.fromEntries(
    Object.entries({ responseMimeType, responseSchema, responseJsonSchema }).filter(([, value]) => value !== undefined && value !== null),
  );
  return {
    model: path?.model ?? '',
    messages: convertToCanonicalMessages(request.systemInstruction, request.contents),
    tools,
    toolChoice: convertToolChoice(request.toolConfig?.functionCallingConfig, tools !== null),
    // Plain text is what no structured-output setting means too.
    responseFormat:
      Object.keys(responseFormat).length === 0 || (Object.keys(responseFormat).length === 1 && responseMimeType === 'text/plain') ? null : responseFormat,
    sampling: fillSamplingDefaults({ ...generationConfig, safetySettings: request.safetySettings, cachedContent: request.cachedContent }, samplingDefaults),
    stream: path?.stream ?? false,
  };
}

/** Function declarations of every tool, flattened; a built-in tool (`googleSearch`, ...) is named by its key. */
function convertTools(tools: GeminiRequest['tools']): CanonicalTool[] | null {
  if (tools === undefined) return null;
  const converted: CanonicalTool[] = [];
  for (const tool of tools) {
    const { functionDeclarations, ...builtIn } = tool;
    for (const { name, description, parameters, parametersJsonSchema } of functionDeclarations ?? []) {
      converted.push({ name, ...(description === undefined ? {} : { description }), inputSchema: parametersJsonSchema ?? parameters ?? null });
    }
    for (const [name, config] of Object.entries(builtIn)) converted.push({ name, inputSchema: null, type: name, raw: config });
  }
  return converted.length === 0 ? null : converted;
}

/** Maps `functionCallingConfig.mode` (AUTO, ANY, NONE) to the canonical choices. */
function convertToolChoice(config: NonNullable<GeminiRequest['toolConfig']>['functionCallingConfig'], hasTools: boolean): unknown {
  const mode = config?.mode ?? 'AUTO';
  if (mode === 'AUTO' || mode === 'MODE_UNSPECIFIED') return hasTools ? 'auto' : 'none';
  if (mode === 'NONE') return 'none';
  if (mode === 'ANY') {
    const allowed = config?.allowedFunctionNames;
    if (allowed === undefined || allowed.length === 0) return 'required';
    if (allowed.length === 1) return { type: 'tool', toolName: allowed[0] };
    return config;
  }
  return config;
}
