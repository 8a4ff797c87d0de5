import type { z } from 'zod';
import { lazySchema } from '../lazy-schema.ts';
import { eventBaseShape } from './event-base.ts';

/** A durable business decision the agent shipped. Indexed in the decision ledger. */
export const decisionEventSchema = lazySchema((z) =>
  z.looseObject({
    ...eventBaseShape(),
    kind: z.literal('decision'),
    /** Decision type, e.g. "refund.category" or "account.action". */
    type: z.string().min(1),
    /** What the decision is about, e.g. a customer id. */
    subject: z.string().min(1),
    /** The decided value, e.g. "approve" or "close". */
    value: z.string(),
    /** Money at stake, in `currency` units (not cents), or null. */
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    /** Whether the action can be undone in the system it landed in. */
    reversible: z.boolean(),
    /** Valid time: when the decision takes effect in the business (ISO-8601). */
    effectiveAt: z.string(),
    /** Seq of the model event whose answer produced this decision, or null. */
    basedOnSeq: z.number().int().nullable(),
    /** Free attributes for segmenting (plan, region...). */
    attributes: z.record(z.string(), z.string()),
  }),
);
export type DecisionEvent = z.infer<ReturnType<typeof decisionEventSchema>>;
