import { convertOpenAiChatRequest } from './convert-openai-chat-request.ts';
import { renderOpenAiChatChunks, renderOpenAiChatCompletion } from './openai-chat-wire.ts';
import type { SimulatedModel } from './simulated-model.ts';
import { openAiErrorResult, type SimulatorHttpResult } from './simulator-http-result.ts';
import { SimulatorRequestError } from './simulator-request.ts';

/**
 * POST /v1/chat/completions of the simulator. SIMULATOR ONLY. A JSON `chat.completion`, or with
 * `stream: true` an SSE stream of `chat.completion.chunk`s ending in `data: [DONE]`. Refusals use
 * the OpenAI error body, so the real `openai` client raises its usual typed errors.
 */
export function handleOpenAiChatCompletions(model: SimulatedModel, body: unknown): SimulatorHttpResult {
  try {
    const request = convertOpenAiChatRequest(body);
    const turn = model.respond(request);
    if (!request.stream) return { status: 200, json: renderOpenAiChatCompletion(turn) };
    const events = renderOpenAiChatChunks(turn, request.includeUsage).map((chunk) => ({ data: JSON.stringify(chunk) }));
    return { status: 200, events: [...events, { data: '[DONE]' }] };
  } catch (error) {
    if (error instanceof SimulatorRequestError) return openAiErrorResult(error.status, error.type, error.message, error.code, error.param);
    throw error;
  }
}

/** The OpenAI error body for a fault the server was told to inject. */
export function openAiFaultResult(status: number): SimulatorHttpResult {
  const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return openAiErrorResult(status, type, `Injected fault: HTTP ${status} from the retrial model simulator.`, type);
}
