import type { z } from 'zod';
import { loadZod } from '../tape/index.ts';

/**
 * Validates a wire body against a format's schema, turning a mismatch into a TypeError whose
 * sentence names the expected format and the first problems, so a misrouted request (say an
 * Anthropic body sent to the OpenAI converter) is obvious from the message alone.
 */
export function parseWireBody<Schema extends z.ZodType>(schema: Schema, body: unknown, expected: string): z.infer<Schema> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new TypeError(`Expected ${expected}, but the body does not match: ${loadZod().prettifyError(result.error)}`);
}
