import type { z } from 'zod';
import { clockEventSchema } from './events/clock-event.ts';
import { configEventSchema } from './events/config-event.ts';
import { decisionEventSchema } from './events/decision-event.ts';
import { errorEventSchema } from './events/error-event.ts';
import { inputEventSchema } from './events/input-event.ts';
import { modelEventSchema } from './events/model-event.ts';
import { noteEventSchema } from './events/note-event.ts';
import { randomEventSchema } from './events/random-event.ts';
import { retrievalEventSchema } from './events/retrieval-event.ts';
import { toolEventSchema } from './events/tool-event.ts';
import { loadZod } from './lazy-schema.ts';

/** Each kind's schema, built on first use (see lazy-schema.ts). */
export const eventSchemas = {
  model: modelEventSchema,
  tool: toolEventSchema,
  retrieval: retrievalEventSchema,
  clock: clockEventSchema,
  random: randomEventSchema,
  input: inputEventSchema,
  config: configEventSchema,
  decision: decisionEventSchema,
  note: noteEventSchema,
  error: errorEventSchema,
} as const;

/**
 * Which revision of the event schemas above this code validates with. A store may note that a
 * run's event texts all passed this revision when it stored them (SQLite run packs do, with a
 * checksum of the texts), so a loader of the same revision need not validate them again. That
 * holds because validating returns an event unchanged (no defaults, transforms or refinements).
 * Bump it whenever a schema above changes; event-schema-revision.test.ts fails until you do.
 */
export const EVENT_SCHEMA_REVISION = 4;

export type EventKind = keyof typeof eventSchemas;
export const EVENT_KINDS = Object.keys(eventSchemas) as EventKind[];
export type TapeEvent = { [K in EventKind]: z.infer<ReturnType<(typeof eventSchemas)[K]>> }[EventKind];
export type EventOfKind<K extends EventKind> = Extract<TapeEvent, { kind: K }>;

export function isKnownEventKind(kind: unknown): kind is EventKind {
  return typeof kind === 'string' && Object.hasOwn(eventSchemas, kind);
}

/**
 * Validates one event. Returns undefined for a kind this version does not know (a newer
 * recorder's event): readers skip it, while the hash chain still covers its bytes.
 */
export function parseEvent(value: unknown): { ok: true; event: TapeEvent | undefined } | { ok: false; message: string } {
  const kind = (value as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string') return { ok: false, message: 'event has no string "kind"' };
  if (!isKnownEventKind(kind)) return { ok: true, event: undefined };
  const result = eventSchemas[kind]().safeParse(value);
  if (!result.success) return { ok: false, message: `${kind} event: ${loadZod().prettifyError(result.error).replace(/\n/g, '; ')}` };
  return { ok: true, event: result.data as TapeEvent };
}
