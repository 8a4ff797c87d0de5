import { z } from 'zod';
import { eventBaseShape } from './event-base.ts';

/** A free-form annotation by the agent or a person. Never affects replay. */
export const noteEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('note'),
  text: z.string(),
  data: z.unknown().optional(),
});
export type NoteEvent = z.infer<typeof noteEventSchema>;
