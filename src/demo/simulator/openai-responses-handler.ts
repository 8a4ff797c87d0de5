import { convertOpenAiResponsesRequest } from './convert-openai-responses-request.ts';
import { renderOpenAiResponse, renderOpenAiResponseEvents } from './openai-responses-wire.ts';
import type { SimulatedModel } from './simulated-model.ts';
import { openAiErrorResult, type SimulatorHttpResult } from './simulator-http-result.ts';
import { SimulatorRequestError } from './simulator-request.ts';

/**
 * POST /v1/responses of the simulator. SIMULATOR ONLY. A JSON `response`, or with `stream: true`
 * the named SSE events of a Responses stream. Refusals use the OpenAI error body.
 */
export function handleOpenAiResponses(model: SimulatedModel, body: unknown): SimulatorHttpResult {
  try {
    const request = convertOpenAiResponsesRequest(body);
    const turn = model.respond(request);
    if (!request.stream) return { status: 200, json: renderOpenAiResponse(turn) };
    return { status: 200, events: renderOpenAiResponseEvents(turn).map((event) => ({ event: String(event.type), data: JSON.stringify(event) })) };
  } catch (error) {
    if (error instanceof SimulatorRequestError) return openAiErrorResult(error.status, error.type, error.message, error.code, error.param);
    throw error;
  }
}
