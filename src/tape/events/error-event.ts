import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** An error that escaped the agent's run function. */
export const errorEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('error'),
    name: z.string(),
    message: z.string(),
    stack: z.string().optional(),
  }),
);
export type ErrorEvent = z.infer<ReturnType<typeof errorEventSchema>>;
