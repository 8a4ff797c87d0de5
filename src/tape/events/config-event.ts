import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** The prompt version, flags and settings the agent ran with. */
export const configEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('config'),
    promptVersion: z.string().nullable(),
    /** Feature flags and their values. */
    flags: z.record(z.string(), z.unknown()),
    /** Blob ref of any further settings, or null. */
    settings: z.string().nullable(),
  }),
);
export type ConfigEvent = z.infer<ReturnType<typeof configEventSchema>>;
