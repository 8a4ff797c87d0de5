import { renderAnthropicEvents, renderAnthropicMessage } from './anthropic-messages-wire.ts';
import { convertAnthropicMessagesRequest } from './convert-anthropic-messages-request.ts';
import type { SimulatedModel } from './simulated-model.ts';
import { anthropicErrorResult, type SimulatorHttpResult } from './simulator-http-result.ts';
import { SimulatorRequestError } from './simulator-request.ts';

/**
 * POST /v1/messages of the simulator. SIMULATOR ONLY. A JSON `message`, or with `stream: true`
 * the named SSE events of the Anthropic stream. Refusals use the Anthropic error body, so the
 * real `@anthropic-ai/sdk` raises its usual typed errors.
 */
export function handleAnthropicMessages(model: SimulatedModel, body: unknown): SimulatorHttpResult {
  try {
    const request = convertAnthropicMessagesRequest(body);
    const turn = model.respond(request);
    if (!request.stream) return { status: 200, json: renderAnthropicMessage(turn) };
    return { status: 200, events: renderAnthropicEvents(turn).map(({ event, data }) => ({ event, data: JSON.stringify(data) })) };
  } catch (error) {
    if (error instanceof SimulatorRequestError) return anthropicErrorResult(error.status, error.message);
    throw error;
  }
}

export function anthropicFaultResult(status: number): SimulatorHttpResult {
  return anthropicErrorResult(status, `Injected fault: HTTP ${status} from the retrial model simulator.`);
}
