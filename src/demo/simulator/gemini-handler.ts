import { convertGeminiRequest } from './convert-gemini-request.ts';
import { renderGeminiChunks, renderGeminiResponse } from './gemini-wire.ts';
import type { SimulatedModel } from './simulated-model.ts';
import { geminiErrorResult, type SimulatorHttpResult } from './simulator-http-result.ts';
import { SimulatorRequestError } from './simulator-request.ts';

/** `/models/{model}:generateContent` or `:streamGenerateContent` in a path. */
const GEMINI_ROUTE = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** The model and method of a Gemini route, or undefined when the path is not one. */
export function matchGeminiRoute(pathname: string): { model: string; stream: boolean } | undefined {
  const match = GEMINI_ROUTE.exec(pathname);
  return match ? { model: decodeURIComponent(match[1] as string), stream: match[2] === 'streamGenerateContent' } : undefined;
}

/**
 * POST /v1beta/models/{model}:generateContent and :streamGenerateContent of the simulator.
 * SIMULATOR ONLY. Refusals use Google's error body, so the real `@google/genai` client raises its
 * usual ApiError.
 */
export function handleGeminiGenerateContent(model: SimulatedModel, body: unknown, route: { model: string; stream: boolean }): SimulatorHttpResult {
  try {
    const request = convertGeminiRequest(body, route.model, route.stream);
    const turn = model.respond(request);
    if (!route.stream) return { status: 200, json: renderGeminiResponse(turn) };
    return { status: 200, events: renderGeminiChunks(turn).map((chunk) => ({ data: JSON.stringify(chunk) })) };
  } catch (error) {
    if (error instanceof SimulatorRequestError) return geminiErrorResult(error.status, error.message);
    throw error;
  }
}

export function geminiFaultResult(status: number): SimulatorHttpResult {
  return geminiErrorResult(status, `Injected fault: HTTP ${status} from the retrial model simulator.`);
}
