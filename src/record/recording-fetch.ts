import { detectWireFormat } from '../providers/index.ts';
import type { StreamChunk } from '../tape/index.ts';
import { buildModelEvent, type ModelExchange } from './model-event-builder.ts';
import { originals } from './patch-globals.ts';
import type { Redactor } from './redaction.ts';
import { maybeCurrentRun, type RunScope, runOutsideScope, takeCausalKey } from './run-scope.ts';

export interface RecordingFetchOptions {
  /** The fetch that really goes to the network. */
  baseFetch: typeof fetch;
  redactor: Redactor;
  /** Resolves once everything pushed so far is durable in the store. */
  flush: () => Promise<void>;
  /** Records a non-model request as a tool event. */
  recordHttpCall: (scope: RunScope, exchange: HttpExchange) => void;
}

export interface HttpExchange {
  key: string;
  at: number;
  durationMs: number;
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  requestText: string | null;
  status: number | null;
  responseHeaders: Record<string, string>;
  responseText: string | null;
  error?: string;
}

function requestParts(input: RequestInfo | URL, init: RequestInit | undefined): { url: string; method: string; headers: Headers; body: unknown } {
  if (input instanceof Request)
    return { url: input.url, method: init?.method ?? input.method, headers: new Headers(init?.headers ?? input.headers), body: init?.body };
  return { url: String(input), method: init?.method ?? 'GET', headers: new Headers(init?.headers), body: init?.body };
}

/**
 * A `fetch` to hand to any provider SDK. Outside a run it is the base fetch untouched. Inside a
 * run, model calls of known wire formats become `model` events: JSON responses are returned as
 * soon as they are read; stream chunks pass through the moment they arrive and only the end of
 * the stream waits until the event is durable.
 */
export function createRecordingFetch(options: RecordingFetchOptions): typeof fetch {
  const { baseFetch, redactor } = options;

  return async function recordingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const scope = maybeCurrentRun();
    if (!scope || scope.mode === 'opaque') return baseFetch(input, init);
    const parts = requestParts(input, init);
    const requestText = typeof parts.body === 'string' ? parts.body : input instanceof Request && parts.body === undefined ? await input.clone().text() : null;
    let parsed: unknown;
    try {
      parsed = requestText ? JSON.parse(requestText) : undefined;
    } catch {
      parsed = undefined;
    }
    const format = parsed === undefined ? undefined : detectWireFormat(new URL(parts.url), parsed);
    // Taken synchronously before any await below: concurrent calls keep their order of issue.
    const key = takeCausalKey(scope, format ? 'model' : 'http', format ? format.id : `${parts.method} ${new URL(parts.url).host}`);
    const at = scope.now();
    const started = originals.performanceNow();
    const url = redactor.url(parts.url);
    const requestHeaders = redactor.headers(parts.headers);

    if (!format) return recordPlainHttp({ scope, key, at, started, url, method: parts.method, requestHeaders, requestText, input, init, options });

    let redactedText = requestText as string;
    let redactedBody = parsed;
    if (redactor.hasRules) {
      redactedBody = redactor.value(parsed);
      redactedText = JSON.stringify(parsed) === requestText ? JSON.stringify(redactedBody) : redactor.text(requestText as string);
    }
    const exchange: ModelExchange = {
      format,
      key,
      at,
      durationMs: 0,
      method: parts.method,
      url,
      requestHeaders,
      requestText: redactedText,
      requestBody: redactedBody,
      status: null,
      responseHeaders: {},
      responseText: null,
      chunks: null,
    };

    let response: Response;
    try {
      response = await runOutsideScope(() => baseFetch(input, init));
    } catch (error) {
      exchange.durationMs = originals.performanceNow() - started;
      exchange.error = { message: (error as Error).message };
      scope.tape.push((blobs) => buildModelEvent(exchange, blobs), 'model');
      throw error;
    }
    exchange.status = response.status;
    exchange.responseHeaders = redactor.headers(response.headers);
    const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream') && response.body !== null;

    if (!isStream) {
      const text = await response.text();
      exchange.durationMs = originals.performanceNow() - started;
      exchange.responseText = redactor.text(text);
      if (response.status >= 400) exchange.error = { message: `HTTP ${response.status}`, status: response.status };
      scope.tape.push((blobs) => buildModelEvent(exchange, blobs), 'model');
      return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
    }

    const chunks: StreamChunk[] = [];
    const decoder = new TextDecoder();
    const passThrough = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        chunks.push({ t: originals.performanceNow() - started, data: redactor.text(decoder.decode(chunk, { stream: true })) });
        controller.enqueue(chunk);
      },
      async flush() {
        const tail = decoder.decode();
        if (tail) chunks.push({ t: originals.performanceNow() - started, data: tail });
        exchange.durationMs = originals.performanceNow() - started;
        exchange.chunks = chunks;
        scope.tape.push((blobs) => buildModelEvent(exchange, blobs), 'model');
        // The caller sees the end of the stream only once its event is durable.
        await options.flush();
      },
    });
    return new Response((response.body as ReadableStream<Uint8Array>).pipeThrough(passThrough), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

async function recordPlainHttp(context: {
  scope: RunScope;
  key: string;
  at: number;
  started: number;
  url: string;
  method: string;
  requestHeaders: Record<string, string>;
  requestText: string | null;
  input: RequestInfo | URL;
  init: RequestInit | undefined;
  options: RecordingFetchOptions;
}): Promise<Response> {
  const { scope, options } = context;
  const exchange: HttpExchange = {
    key: context.key,
    at: context.at,
    durationMs: 0,
    method: context.method,
    url: context.url,
    requestHeaders: context.requestHeaders,
    requestText: context.requestText === null ? null : options.redactor.text(context.requestText),
    status: null,
    responseHeaders: {},
    responseText: null,
  };
  if (!['GET', 'HEAD', 'OPTIONS'].includes(context.method.toUpperCase())) await options.flush();
  try {
    const response = await runOutsideScope(() => options.baseFetch(context.input, context.init));
    const text = await response.text();
    exchange.status = response.status;
    exchange.responseHeaders = options.redactor.headers(response.headers);
    exchange.responseText = options.redactor.text(text);
    exchange.durationMs = originals.performanceNow() - context.started;
    options.recordHttpCall(scope, exchange);
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  } catch (error) {
    exchange.error = (error as Error).message;
    exchange.durationMs = originals.performanceNow() - context.started;
    options.recordHttpCall(scope, exchange);
    throw error;
  }
}
