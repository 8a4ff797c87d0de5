import { z } from 'zod';
import { eventBaseShape } from './event-base.ts';

/** An error that escaped the agent's run function. */
export const errorEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('error'),
  name: z.string(),
  message: z.string(),
  stack: z.string().optional(),
});
export type ErrorEvent = z.infer<typeof errorEventSchema>;
