/**
 * What a simulator route answers, before it touches a socket. SIMULATOR ONLY. Handlers return
 * one of these so they can be tested without HTTP; `simulator-server.ts` writes it out, pausing
 * between stream events when asked to.
 */
export interface ServerSentEvent {
  /** The `event:` line; OpenAI streams have none, Anthropic streams name every event. */
  event?: string;
  /** The `data:` line, already serialized. */
  data: string;
}

export type SimulatorHttpResult =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: 200; events: ServerSentEvent[]; headers?: Record<string, string> };

/** The header on every simulator response, over HTTP or in-process. */
export const SIMULATOR_HEADER = { 'x-simulator': 'retrial-sim' } as const;

/** One server-sent event as it goes on the wire. */
export function serializeSseEvent(event: ServerSentEvent): string {
  return `${event.event ? `event: ${event.event}\n` : ''}data: ${event.data}\n\n`;
}

/** The sentence every simulator error carries, so nobody mistakes it for a real provider. */
export const SIMULATOR_NOTICE = 'This is the retrial model simulator, not a real model provider.';

/** An OpenAI-style error body: `{ error: { message, type, param, code } }`. */
export function openAiErrorResult(status: number, type: string, message: string, code: string | null = null, param: string | null = null): SimulatorHttpResult {
  return { status, json: { error: { message: withNotice(message), type, param, code } } };
}

/** An Anthropic-style error body: `{ type: 'error', error: { type, message } }`, the type picked from the status. */
export function anthropicErrorResult(status: number, message: string): SimulatorHttpResult {
  return { status, json: { type: 'error', error: { type: anthropicErrorType(status), message: withNotice(message) } } };
}

/** A Google-style error body: `{ error: { code, message, status } }`, the status name picked from the HTTP status. */
export function geminiErrorResult(status: number, message: string): SimulatorHttpResult {
  return { status, json: { error: { code: status, message: withNotice(message), status: googleStatusName(status) } } };
}

function googleStatusName(status: number): string {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return 'INTERNAL';
  }
}

function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

function withNotice(message: string): string {
  return message.includes('simulator') ? message : `${message} ${SIMULATOR_NOTICE}`;
}
