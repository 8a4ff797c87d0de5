import { handleAnthropicMessages } from './anthropic-messages-handler.ts';
import { handleGeminiGenerateContent, matchGeminiRoute } from './gemini-handler.ts';
import { handleOpenAiChatCompletions } from './openai-chat-handler.ts';
import { handleOpenAiResponses } from './openai-responses-handler.ts';
import type { SimulatedModel } from './simulated-model.ts';
import { openAiErrorResult, SIMULATOR_HEADER, type SimulatorHttpResult, serializeSseEvent } from './simulator-http-result.ts';

/**
 * A `fetch` that answers the simulator's routes in this process, without a socket. SIMULATOR
 * ONLY. Backfill and its benchmark use it where the question is the engine's own throughput; the
 * answers are the same the HTTP server gives for the same model and seed.
 */
export function createSimulatorFetch(model: SimulatedModel): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const bodyText = typeof init?.body === 'string' ? init.body : '';
    let result: SimulatorHttpResult;
    try {
      const body = JSON.parse(bodyText) as unknown;
      const gemini = matchGeminiRoute(new URL(url).pathname);
      if (gemini) result = handleGeminiGenerateContent(model, body, gemini);
      else if (url.endsWith('/chat/completions')) result = handleOpenAiChatCompletions(model, body);
      else if (url.endsWith('/responses')) result = handleOpenAiResponses(model, body);
      else if (url.endsWith('/messages')) result = handleAnthropicMessages(model, body);
      else result = openAiErrorResult(404, 'invalid_request_error', `The simulator has no route ${url}.`);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      result = openAiErrorResult(400, 'invalid_request_error', 'The request body is not valid JSON.');
    }
    const headers = { ...SIMULATOR_HEADER, ...result.headers };
    if ('json' in result)
      return new Response(JSON.stringify(result.json), { status: result.status, headers: { ...headers, 'content-type': 'application/json' } });
    const text = result.events.map(serializeSseEvent).join('');
    return new Response(text, { status: 200, headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8' } });
  };
}
