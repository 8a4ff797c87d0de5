import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** A random draw inside a run scope, from a named stream (one per call site). */
export const randomEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('random'),
    source: z.enum(['Math.random', 'crypto.randomUUID', 'crypto.getRandomValues', 'crypto.randomBytes', 'rec.random']),
    /**
     * Stream name: the name given to `rec.random`, or the call site: `<function>` or
     * `<package>#<function>` (RecorderFlag.PortableKeys); before that flag, `path#function` or
     * `path:line` relative to the recording's working directory.
     */
    stream: z.string(),
    /** The value returned: a number, a UUID string, or base64 of the bytes. */
    value: z.union([z.number(), z.string()]),
  }),
);
export type RandomEvent = z.infer<ReturnType<typeof randomEventSchema>>;
