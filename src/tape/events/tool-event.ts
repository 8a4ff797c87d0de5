import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/**
 * `read` tools only observe the world; `write` tools change it. Unknown tools default to `write`,
 * so a replay never fires a side effect by accident.
 */
export const toolEffectSchema = lazySchema((z) => z.enum(['read', 'write']));
export type ToolEffect = z.infer<ReturnType<typeof toolEffectSchema>>;

/** A call of a tool the agent wrapped with `rec.tool`. */
export const toolEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('tool'),
    name: z.string(),
    effect: toolEffectSchema(),
    /** Blob ref of the arguments (after redaction). */
    args: z.string(),
    /** sha256 of the canonical arguments: the "what" of matching. */
    requestHash: z.string(),
    /** Blob ref of the result, or null when the tool threw. */
    result: z.string().nullable(),
    /**
     * Blob ref of the result's JSON text as the agent received it (a string blob), present only
     * when its key order differs from the canonical form: code can observe key order
     * (Object.keys, JSON.stringify), so replay serves this text parsed.
     */
    resultText: z.string().optional(),
    error: z.looseObject({ name: z.string(), message: z.string() }).optional(),
    /** True when the tool body did not run (replay, fork or backfill stubbed it). */
    stubbed: z.boolean().optional(),
  }),
);
export type ToolEvent = z.infer<ReturnType<typeof toolEventSchema>>;
