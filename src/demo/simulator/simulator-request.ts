import type { z } from 'zod';
import type { SimulatorMessage } from './conversation-features.ts';
import type { SimulatorToolChoice } from './simulator-actions.ts';

/**
 * A model request of either wire format, reduced to what the simulated model uses. SIMULATOR
 * ONLY. Both `convert-*-request.ts` files produce this; everything after them is wire-neutral.
 */
export type SimulatorApiKind = 'openai-chat' | 'anthropic-messages' | 'openai-responses' | 'gemini';

export interface SimulatorRequest {
  apiKind: SimulatorApiKind;
  /** Model name as requested: a dated version or an alias. */
  model: string;
  messages: SimulatorMessage[];
  /** Names of every tool offered, known to the demo world or not. */
  offeredTools: string[];
  toolChoice: SimulatorToolChoice;
  /** Sampling temperature with the provider default (1) filled in. */
  temperature: number;
  /** How many independent answers (OpenAI `n`); always 1 for Anthropic. */
  choiceCount: number;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`: send a final chunk carrying usage. */
  includeUsage: boolean;
  /**
   * The body minus fields that do not change what the model sees (`stream`, `stream_options`,
   * `user`, `metadata`) and minus system prompts. Its canonical JSON, with the occurrence index,
   * seeds the sampling noise, so streaming or not and who asked never change the answer. System
   * prompts are left out of the key because the demo's carries today's date: leaving it in would
   * make a recorded history depend on the day it was recorded. (The scoring model reads the system
   * prompt only as a last resort for a customer id, so distinct conversations keep distinct keys.)
   */
  seedBody: Record<string, unknown>;
  /** Length of the prompt's canonical JSON; usage counts ceil(characters / 4) tokens. */
  promptCharacters: number;
}

/** Fields that only steer transport or bookkeeping; see `seedBody`. */
export const TRANSPORT_ONLY_FIELDS = ['stream', 'stream_options', 'user', 'metadata'] as const;

export function withoutTransportFields(body: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...body };
  for (const field of TRANSPORT_ONLY_FIELDS) delete copy[field];
  delete copy.system;
  if (Array.isArray(copy.messages)) {
    copy.messages = copy.messages.filter((message) => {
      const role = (message as { role?: unknown } | null)?.role;
      return role !== 'system' && role !== 'developer';
    });
  }
  return copy;
}

/**
 * A request the simulator refuses, with the HTTP status and the error type and code each wire
 * format reports. The message always says it comes from the simulator.
 */
export class SimulatorRequestError extends Error {
  readonly status: number;
  /** OpenAI `error.type` (e.g. invalid_request_error); the Anthropic handler maps it to its own names. */
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  constructor({
    status,
    type,
    code = null,
    param = null,
    message,
  }: { status: number; type: string; code?: string | null; param?: string | null; message: string }) {
    super(`${message} (retrial model simulator)`);
    this.name = 'SimulatorRequestError';
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
}

/** Turns a failed zod parse of a body into a 400 naming the first bad field. */
export function invalidRequestFromZod(error: z.ZodError): SimulatorRequestError {
  const issue = error.issues[0];
  const path = issue?.path.join('.') ?? '';
  return new SimulatorRequestError({
    status: 400,
    type: 'invalid_request_error',
    param: path || null,
    message: `Invalid request body${path ? ` at '${path}'` : ''}: ${issue?.message ?? 'not valid'}`,
  });
}

/** The text of string-or-parts content: string as is, text parts joined, other parts ignored. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
    .filter((text) => text !== '')
    .join('\n');
}
