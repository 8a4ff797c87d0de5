import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicFaultResult, handleAnthropicMessages } from './anthropic-messages-handler.ts';
import { geminiFaultResult, handleGeminiGenerateContent, matchGeminiRoute } from './gemini-handler.ts';
import { MODEL_VERSIONS } from './model-versions.ts';
import { handleOpenAiChatCompletions, openAiFaultResult } from './openai-chat-handler.ts';
import { handleOpenAiResponses } from './openai-responses-handler.ts';
import { createSimulatedModel, type SimulatedModel } from './simulated-model.ts';
import {
  anthropicErrorResult,
  geminiErrorResult,
  openAiErrorResult,
  SIMULATOR_HEADER,
  type SimulatorHttpResult,
  serializeSseEvent,
} from './simulator-http-result.ts';

/**
 * The simulated model server: OpenAI-, Anthropic- and Gemini-compatible HTTP on loopback.
 * SIMULATOR ONLY, and it says so: every response carries `x-simulator: retrial-sim` and every
 * error body names the simulator. Routes: POST /v1/chat/completions, POST /v1/responses, POST /v1/messages,
 * POST /v1beta/models/{model}:generateContent and :streamGenerateContent,
 * GET /v1/models, GET /v1/models/{id}.
 */
export interface SimulatorServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  seed?: string;
  /** Alias name to dated version id, merged over the default `{ 'support-sim': incumbent }`. */
  aliases?: Record<string, string>;
  /** Wait before answering each model request, in milliseconds. */
  latencyMs?: number;
  /** Wait between stream events, in milliseconds, so pass-through of early chunks is measurable. */
  chunkDelayMs?: number;
  /** Answer every Nth model request with this HTTP status instead; it consumes no sampling noise. */
  faults?: { status: number; everyNth: number; retryAfterMs?: number };
}

export interface SimulatorServer {
  /** Base URL without `/v1`, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  model: SimulatedModel;
  close(): Promise<void>;
  setAlias(alias: string, versionId: string): void;
  stats(): { requests: number; modelRequests: number; faults: number };
}

export async function startSimulatorServer(options: SimulatorServerOptions = {}): Promise<SimulatorServer> {
  const model = createSimulatedModel({ seed: options.seed, aliases: options.aliases });
  const counts = { requests: 0, modelRequests: 0, faults: 0 };

  async function route(request: IncomingMessage, pathname: string): Promise<SimulatorHttpResult> {
    const method = request.method ?? 'GET';
    if (method === 'GET' && pathname === '/v1/models') return { status: 200, json: { object: 'list', data: listModels(model) } };
    if (method === 'GET' && pathname.startsWith('/v1/models/')) {
      const id = decodeURIComponent(pathname.slice('/v1/models/'.length));
      const found = listModels(model).find((entry) => entry.id === id);
      return found
        ? { status: 200, json: found }
        : openAiErrorResult(404, 'invalid_request_error', `The model '${id}' does not exist.`, 'model_not_found', 'model');
    }
    const isResponses = pathname === '/v1/responses';
    const isOpenAi = pathname === '/v1/chat/completions' || isResponses;
    const isAnthropic = pathname === '/v1/messages';
    const gemini = pathname.startsWith('/v1beta/') ? matchGeminiRoute(pathname) : undefined;
    if (method !== 'POST' || !(isOpenAi || isAnthropic || gemini)) {
      return openAiErrorResult(404, 'invalid_request_error', `No route ${method} ${pathname} on the retrial model simulator.`);
    }
    const errorResult = (status: number, message: string) =>
      isOpenAi
        ? openAiErrorResult(status, 'invalid_request_error', message)
        : gemini
          ? geminiErrorResult(status, message)
          : anthropicErrorResult(status, message);
    let body: unknown;
    try {
      body = JSON.parse(await readBody(request));
    } catch {
      return errorResult(400, 'The request body is not valid JSON.');
    }
    counts.modelRequests += 1;
    if (options.faults && options.faults.everyNth > 0 && counts.modelRequests % options.faults.everyNth === 0) {
      counts.faults += 1;
      const fault = isOpenAi
        ? openAiFaultResult(options.faults.status)
        : gemini
          ? geminiFaultResult(options.faults.status)
          : anthropicFaultResult(options.faults.status);
      return { ...fault, headers: { 'retry-after-ms': String(options.faults.retryAfterMs ?? 50) } };
    }
    if (options.latencyMs) await delay(options.latencyMs);
    if (isResponses) return handleOpenAiResponses(model, body);
    if (gemini) return handleGeminiGenerateContent(model, body, gemini);
    return isOpenAi ? handleOpenAiChatCompletions(model, body) : handleAnthropicMessages(model, body);
  }

  const server = createServer((request, response) => {
    counts.requests += 1;
    const requestId = `req_sim_${counts.requests}`;
    const pathname = new URL(request.url ?? '/', 'http://simulator').pathname;
    route(request, pathname)
      .then((result) => writeResult(response, result, requestId, options.chunkDelayMs ?? 0))
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (!response.headersSent) writeResult(response, openAiErrorResult(500, 'server_error', `Simulator bug: ${message}`), requestId, 0);
        else response.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    model,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    setAlias: model.setAlias,
    stats: () => ({ ...counts }),
  };
}

function listModels(model: SimulatedModel) {
  const versions = Object.values(MODEL_VERSIONS).map((version) => ({
    id: version.id,
    object: 'model',
    created: version.created,
    owned_by: 'retrial-simulator',
  }));
  const aliases = Object.entries(model.aliases()).map(([alias, versionId]) => ({
    id: alias,
    object: 'model',
    created: MODEL_VERSIONS[versionId]?.created ?? 0,
    owned_by: 'retrial-simulator',
    /** Simulator extension: the dated version this alias points at now. */
    alias_of: versionId,
  }));
  return [...versions, ...aliases];
}

async function writeResult(response: ServerResponse, result: SimulatorHttpResult, requestId: string, chunkDelayMs: number): Promise<void> {
  const headers = { ...SIMULATOR_HEADER, 'x-request-id': requestId, 'request-id': requestId, ...result.headers };
  if ('json' in result) {
    response.writeHead(result.status, { ...headers, 'content-type': 'application/json' });
    response.end(JSON.stringify(result.json));
    return;
  }
  response.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  for (const [index, event] of result.events.entries()) {
    if (response.destroyed) return;
    if (index > 0 && chunkDelayMs > 0) await delay(chunkDelayMs);
    response.write(serializeSseEvent(event));
  }
  response.end();
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
