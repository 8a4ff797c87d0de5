import { detectWireFormatFromText, type WireFormat } from '../providers/index.ts';
import type { StreamChunk } from '../tape/index.ts';
import { captureAgentSite } from './call-site.ts';
import { buildModelEvent, type ModelExchange } from './model-event-builder.ts';
import { originals } from './patch-globals.ts';
import type { ServedFetchCall } from './recorder.ts';
import type { Redactor } from './redaction.ts';
import { foreignCallInReplay, maybeCurrentRun, type RunScope, runOutsideScope, takeCausalKey } from './run-scope.ts';
import type { BlobCollector, EventDraft } from './run-tape-writer.ts';

export interface RecordingFetchOptions {
  /** The fetch that really goes to the network. */
  baseFetch: typeof fetch;
  redactor: Redactor;
  /** Resolves once everything pushed so far is durable in the store. */
  flush: () => Promise<void>;
  /** Answers a call by causal key instead of the network (fork); undefined means go to the network. */
  serve?: (call: ServedFetchCall) => Response | undefined | Promise<Response | undefined>;
  /** Builds the event of a request that is not a model call (or whose body did not parse as one). */
  buildHttpEvent: (exchange: HttpExchange, blobs: BlobCollector) => EventDraft;
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
  /** True when a serve hook answered (a fork serving the parent's response): nothing was sent. */
  stubbed?: boolean;
}

type HeadersSource = RequestInit['headers'] | Headers | undefined;

function urlOf(input: RequestInfo | URL): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

/**
 * A `fetch` to hand to any provider SDK. Outside a run it is the base fetch untouched. Inside a
 * run, model calls of known wire formats become `model` events. The caller's path does only what
 * must happen then (take the causal key, note the time, tee the response); parsing, redaction and
 * canonical forms happen later when the event is built. JSON responses reach the caller as they
 * arrive; stream chunks pass through the moment they arrive and only the end of the stream waits
 * until the event is durable.
 */
export function createRecordingFetch(options: RecordingFetchOptions): typeof fetch {
  const { baseFetch } = options;

  return async function recordingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const scope = maybeCurrentRun();
    if (!scope || scope.mode === 'opaque') return baseFetch(input, init);
    if (scope.blockEgress && !options.serve) throw foreignCallInReplay(`fetch ${urlOf(input)}`);
    const url = urlOf(input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const requestText = typeof init?.body === 'string' ? init.body : null;
    const format = requestText === null ? undefined : detectWireFormatFromText(url, requestText);
    // Taken synchronously before any await below: concurrent calls keep their order of issue. No
    // host or port in a key: the endpoint a call went to depends on the machine (RecorderFlag.PortableKeys).
    const key = takeCausalKey(scope, format ? 'model' : 'http', format ? format.id : method);
    const at = scope.now();
    const started = originals.performanceNow();
    const site = captureAgentSite();
    const startedAfter = scope.tape.eventCount;
    const headersSource: HeadersSource = init?.headers ?? (input instanceof Request ? input.headers : undefined);
    const context: CallContext = { scope, key, at, started, startedAfter, site, url, method, headersSource, requestText, options };

    if (!format || requestText === null) return recordPlainHttp(context, input, init);

    let response: Response;
    try {
      response =
        (await options.serve?.({ key, url, init, method, headers: headersSource, body: requestText })) ?? (await runOutsideScope(() => baseFetch(input, init)));
    } catch (error) {
      const durationMs = originals.performanceNow() - started;
      pushModel(context, format, {
        status: null,
        responseHeaders: undefined,
        responseText: null,
        chunks: null,
        durationMs,
        error: { message: (error as Error).message },
      });
      throw error;
    }
    const isStream = (response.headers.get('content-type') ?? '').includes('text/event-stream') && response.body !== null;

    if (!isStream) {
      // The caller reads the response as it arrives; the recorder reads its own copy.
      const copy = response.clone();
      const body = copy.text().then(
        (text) => ({ text, durationMs: originals.performanceNow() - started }),
        (error: Error) => ({ text: null, durationMs: originals.performanceNow() - started, error }),
      );
      scope.tape.push(async (blobs) => {
        const read = await body;
        const error =
          'error' in read
            ? { message: `response body unreadable: ${read.error.message}` }
            : response.status >= 400
              ? { message: `HTTP ${response.status}`, status: response.status }
              : undefined;
        return buildModelOrHttp(
          context,
          format,
          { status: response.status, responseHeaders: response.headers, responseText: read.text, chunks: null, durationMs: read.durationMs, error },
          blobs,
        );
      }, 'model');
      return response;
    }

    const chunks: StreamChunk[] = [];
    const decoder = new TextDecoder();
    const passThrough = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        chunks.push({ t: originals.performanceNow() - started, data: decoder.decode(chunk, { stream: true }) });
        controller.enqueue(chunk);
      },
      async flush() {
        const tail = decoder.decode();
        if (tail) chunks.push({ t: originals.performanceNow() - started, data: tail });
        pushModel(context, format, {
          status: response.status,
          responseHeaders: response.headers,
          responseText: null,
          chunks,
          durationMs: originals.performanceNow() - started,
        });
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

interface CallContext {
  scope: RunScope;
  key: string;
  at: number;
  started: number;
  /** How many events the run had when the call started (see eventBaseShape.startedAfter). */
  startedAfter: number;
  site: string | null;
  url: string;
  method: string;
  headersSource: HeadersSource;
  requestText: string | null;
  options: RecordingFetchOptions;
}

interface Outcome {
  status: number | null;
  responseHeaders: Headers | undefined;
  responseText: string | null;
  chunks: StreamChunk[] | null;
  durationMs: number;
  error?: { message: string; status?: number };
}

/** The host of a URL, for naming non-model calls; never throws. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unknown-host';
  }
}

function pushModel(context: CallContext, format: WireFormat, outcome: Outcome): void {
  context.scope.tape.push((blobs) => buildModelOrHttp(context, format, outcome, blobs), 'model');
}

/**
 * A JSON request body as the tape keeps it: the parsed body with PII rules applied, and its text.
 * Where the text is what JSON.stringify writes (as SDKs send it), the text is the redacted body
 * written the same way; otherwise the rules are applied to the text itself.
 */
export function redactRequestBody(redactor: Redactor, text: string, parsed: unknown): { text: string; body: unknown } {
  if (!redactor.hasRules) return { text, body: parsed };
  const body = redactor.value(parsed);
  return { text: JSON.stringify(parsed) === text ? JSON.stringify(body) : redactor.text(text), body };
}

/** Builds the model event; a body that does not parse as the format is kept as a plain HTTP call. */
function buildModelOrHttp(context: CallContext, format: WireFormat, outcome: Outcome, blobs: BlobCollector): EventDraft {
  const { redactor } = context.options;
  const requestText = context.requestText as string;
  const requestHeaders = redactor.headers(new Headers(context.headersSource));
  const responseHeaders = outcome.responseHeaders ? redactor.headers(outcome.responseHeaders) : {};
  const chunks = outcome.chunks?.map((chunk) => ({ t: chunk.t, data: redactor.text(chunk.data) })) ?? null;
  const responseText = outcome.responseText === null ? null : redactor.text(outcome.responseText);
  try {
    const { text: redactedText, body: redactedBody } = redactRequestBody(redactor, requestText, JSON.parse(requestText));
    const exchange: ModelExchange = {
      format,
      key: context.key,
      at: context.at,
      durationMs: outcome.durationMs,
      method: context.method,
      url: redactor.url(context.url),
      requestHeaders,
      requestText: redactedText,
      requestBody: redactedBody,
      status: outcome.status,
      responseHeaders,
      responseText,
      chunks,
      ...(outcome.error ? { error: outcome.error } : {}),
    };
    const event = buildModelEvent(exchange, blobs);
    return { ...event, ...(context.site ? { site: context.site } : {}), startedAfter: context.startedAfter };
  } catch (error) {
    return httpEvent(
      context,
      {
        key: context.key,
        at: context.at,
        durationMs: outcome.durationMs,
        method: context.method,
        url: redactor.url(context.url),
        requestHeaders,
        requestText: redactor.text(requestText),
        status: outcome.status,
        responseHeaders,
        responseText: responseText ?? chunks?.map((chunk) => chunk.data).join('') ?? null,
        error: outcome.error?.message ?? `not recorded as a ${format.id} call: ${(error as Error).message}`,
      },
      blobs,
    );
  }
}

function httpEvent(context: CallContext, exchange: HttpExchange, blobs: BlobCollector): EventDraft {
  return { ...context.options.buildHttpEvent(exchange, blobs), startedAfter: context.startedAfter } as EventDraft;
}

async function recordPlainHttp(context: CallContext, input: RequestInfo | URL, init: RequestInit | undefined): Promise<Response> {
  const { scope, options } = context;
  const { redactor } = options;
  const requestText = context.requestText ?? (input instanceof Request && init?.body === undefined ? await input.clone().text() : null);
  if (!['GET', 'HEAD', 'OPTIONS'].includes(context.method.toUpperCase())) await options.flush();
  const exchange: HttpExchange = {
    key: context.key,
    at: context.at,
    durationMs: 0,
    method: context.method,
    url: redactor.url(context.url),
    requestHeaders: redactor.headers(new Headers(context.headersSource)),
    requestText: requestText === null ? null : redactor.text(requestText),
    status: null,
    responseHeaders: {},
    responseText: null,
  };
  try {
    const served = await options.serve?.({
      key: context.key,
      url: context.url,
      init,
      method: context.method,
      headers: context.headersSource,
      body: requestText,
    });
    if (served) exchange.stubbed = true;
    const response = served ?? (await runOutsideScope(() => options.baseFetch(input, init)));
    const text = await response.text();
    exchange.status = response.status;
    exchange.responseHeaders = redactor.headers(response.headers);
    exchange.responseText = redactor.text(text);
    exchange.durationMs = originals.performanceNow() - context.started;
    scope.tape.push((blobs) => httpEvent(context, exchange, blobs), 'tool');
    return new Response(text, { status: response.status, statusText: response.statusText, headers: response.headers });
  } catch (error) {
    exchange.error = (error as Error).message;
    exchange.durationMs = originals.performanceNow() - context.started;
    scope.tape.push((blobs) => httpEvent(context, exchange, blobs), 'tool');
    throw error;
  }
}
