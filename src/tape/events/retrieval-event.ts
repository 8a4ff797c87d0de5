import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** A read from a retrieval source (vector store, search index, knowledge base). */
export const retrievalEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('retrieval'),
    /** The source's name, e.g. "policy-kb". */
    name: z.string(),
    /** Blob ref of the query. */
    query: z.string(),
    requestHash: z.string(),
    /** Blob ref of the documents returned, exactly as the agent received them. */
    result: z.string().nullable(),
    /**
     * Blob ref of the result's JSON text as the agent received it (a string blob), present only
     * when its key order differs from the canonical form: code can observe key order
     * (Object.keys, JSON.stringify), so replay serves this text parsed.
     */
    resultText: z.string().optional(),
    error: z.looseObject({ name: z.string(), message: z.string() }).optional(),
    /** True when the source was not called: a fork or a backfill answered from the parent's tape. */
    stubbed: z.boolean().optional(),
  }),
);
export type RetrievalEvent = z.infer<ReturnType<typeof retrievalEventSchema>>;
