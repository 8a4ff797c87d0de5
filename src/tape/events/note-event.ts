import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** A free-form annotation by the agent or a person. Never affects replay. */
export const noteEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('note'),
    text: z.string(),
    data: z.unknown().optional(),
  }),
);
export type NoteEvent = z.infer<ReturnType<typeof noteEventSchema>>;
