import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** The input the run was started with (first event of every run). */
export const inputEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('input'),
    /** Blob ref of the input value (after redaction). */
    value: z.string(),
    /** Blob ref of the value's JSON text in the key order the agent got it, when that differs (see tool `resultText`). */
    valueText: z.string().optional(),
  }),
);
export type InputEvent = z.infer<ReturnType<typeof inputEventSchema>>;
