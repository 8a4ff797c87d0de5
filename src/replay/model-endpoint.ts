import type { WireFormat } from '../providers/index.ts';
import { type CanonicalModelResponse, RetrialError } from '../tape/index.ts';
import { runSanctioned } from './egress-guard.ts';

/** The model endpoint did not answer; the partial result is kept. */
export class EndpointError extends RetrialError {
  /** The HTTP status of the last answer, or null when the connection itself failed. */
  readonly status: number | null;
  /** Whether trying later may succeed (rate limits, 5xx, dropped connections, timeouts). */
  readonly retryable: boolean;
  /**
   * Whether every request to this endpoint will fail the same way (401, 403, 404: the key, the
   * URL or the model name is wrong): a batch should stop at once, not record a failure per item.
   */
  readonly misconfigured: boolean;
  constructor(message: string, options: { cause?: unknown; status?: number | null; retryable?: boolean } = {}) {
    super({ code: 'ENDPOINT', message, cause: options.cause });
    this.name = 'EndpointError';
    this.status = options.status ?? null;
    this.retryable = options.retryable ?? true;
    this.misconfigured = this.status !== null && MISCONFIGURED_STATUSES.has(this.status);
  }
}

const MISCONFIGURED_STATUSES: ReadonlySet<number> = new Set([401, 403, 404]);

/**
 * Whether an answer with this status means the endpoint failed, not the request's content: a
 * misconfigured endpoint (key, model, URL), a rate limit or a server error.
 */
export function isEndpointFailure(status: number): boolean {
  return status === 429 || status >= 500 || MISCONFIGURED_STATUSES.has(status);
}

/** Statuses worth retrying: timeouts, rate limits and server errors. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 409, 429, 500, 502, 503, 504]);

export interface ModelEndpointOptions {
  format: WireFormat;
  /** OpenAI-compatible base URL ending in /v1 (chat completions and Responses), or the Anthropic base URL. */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  /** Attempts after the first for retryable failures (default 3). */
  retries?: number;
  /** Backoff before retry `attempt` when the server names no delay (default 100 ms doubling). */
  backoffMs?: (attempt: number) => number;
  /** A request that has not answered after this long is abandoned and retried (default 120 s). */
  timeoutMs?: number;
}

/** Sends request bodies of one wire format to one endpoint, with retries and backoff. */
export interface ModelEndpoint {
  readonly url: string;
  /** Sends `body` (exact text) and returns the canonical answer; throws EndpointError. */
  send(body: string, modelSent: string): Promise<CanonicalModelResponse>;
}

/** The URL a request of this format goes to; Gemini names the model in the path, so it needs `model`. */
export function endpointUrl(format: Pick<WireFormat, 'id'>, baseUrl: string, model = ''): string {
  const base = baseUrl.replace(/\/+$/, '');
  if (format.id === 'openai-responses') return `${base}/responses`;
  if (format.id === 'gemini') return `${base.replace(/\/v1(?:beta)?$/, '')}/v1beta/models/${encodeURIComponent(model)}:generateContent`;
  return format.id === 'openai-chat' ? `${base}/chat/completions` : `${base.replace(/\/v1$/, '')}/v1/messages`;
}

function headersFor(format: WireFormat, apiKey: string): Record<string, string> {
  // Gemini's key goes in a header, never in `?key=`: URLs end up in messages and logs.
  if (format.id === 'gemini') return { 'content-type': 'application/json', 'x-goog-api-key': apiKey };
  return format.id === 'openai-chat' || format.id === 'openai-responses'
    ? { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` }
    : { 'content-type': 'application/json', 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' };
}

/** Delay the server asked for (retry-after-ms, or retry-after in seconds), or null. */
function serverDelayMs(headers: Headers): number | null {
  const milliseconds = Number(headers.get('retry-after-ms'));
  if (milliseconds > 0) return milliseconds;
  const seconds = Number(headers.get('retry-after'));
  return seconds > 0 ? seconds * 1000 : null;
}

/** "fetch failed: ECONNREFUSED": undici hides the reason in `cause`. */
export function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const reason = (error as { cause?: { code?: string; message?: string } })?.cause;
  return reason ? `${message}: ${reason.code ?? reason.message}` : message;
}

/**
 * The endpoint as messages name it: without user:password or query, where some proxies carry
 * keys. Messages end up in stored results and the audit log, where nothing secret may go.
 */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(an endpoint URL that does not parse)';
  }
}

export function createModelEndpoint(options: ModelEndpointOptions): ModelEndpoint {
  const { format } = options;
  // Retrial's own live call (through the caller's fetch, if given): a replay, fork or explain
  // sealing the process meanwhile (explain itself, a server, a backfill worker) must not refuse it.
  const baseFetch = options.fetch ?? globalThis.fetch;
  const fetchImpl: typeof fetch = (input, init) => runSanctioned(() => baseFetch(input, init));
  const url = endpointUrl(format, options.baseUrl, '{model}');
  const shown = displayUrl(url).replace('%7Bmodel%7D', '{model}');
  const headers = headersFor(format, options.apiKey);
  const retries = options.retries ?? 3;
  const backoff = options.backoffMs ?? ((attempt: number) => 100 * 2 ** attempt);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  return {
    url: shown,
    async send(body, modelSent) {
      const target = format.id === 'gemini' ? endpointUrl(format, options.baseUrl, modelSent) : url;
      for (let attempt = 0; ; attempt++) {
        let response: Response;
        let text: string;
        try {
          response = await fetchImpl(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
          text = await response.text();
        } catch (cause) {
          // Connections drop (resets, timeouts); try again before counting a failure.
          if (attempt >= retries) throw new EndpointError(`${shown} is not answering (${describeFailure(cause)})`, { cause });
          await pause(backoff(attempt));
          continue;
        }
        if (response.ok) {
          const parsed = (response.headers.get('content-type') ?? '').includes('text/event-stream') ? format.assembleStream(text) : JSON.parse(text);
          return format.convertToCanonicalResponse(parsed, modelSent);
        }
        const retryable = RETRYABLE_STATUSES.has(response.status);
        if (!retryable || attempt >= retries)
          throw new EndpointError(`${shown} answered HTTP ${response.status}: ${text.slice(0, 200)}`, { status: response.status, retryable });
        await pause(serverDelayMs(response.headers) ?? backoff(attempt));
      }
    },
  };
}
