import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** A read of the clock inside a run scope. The value read is recorded, not just a seed. */
export const clockEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('clock'),
    /** Which API was read. */
    source: z.enum(['Date.now', 'new Date', 'Date', 'performance.now']),
    /** The value returned: ms since epoch, or ms since time origin for performance.now. */
    value: z.number(),
  }),
);
export type ClockEvent = z.infer<ReturnType<typeof clockEventSchema>>;
