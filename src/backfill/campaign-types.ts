import type { z } from 'zod';
import { lazySchema, RetrialError } from '../tape/index.ts';

/**
 * The shapes a campaign keeps in the store. They are validated when read back, because the store
 * is where data enters a later command (another version of retrial may have written it).
 */

export const modelTargetSchema = lazySchema((z) => z.object({ provider: z.enum(['sim', 'openai', 'anthropic', 'gemini']), model: z.string().min(1) }));

/** Why a decision of the population was left out. Each is counted and named in plan and report. */
export const EXCLUSION_REASONS = {
  correction: 'a correction written by remediation, not a model decision',
  'ledger-mismatch':
    "its ledger row is not what its run's hash chain says (a field was changed, or the chain is broken); `npx retrial verify` names what differs",
  superseded: 'a correction already replaced it; the correction is the decision in force',
  'incomplete-tape': 'its run did not finish recording (status incomplete or failed), so its inputs may be partial',
  'no-decision-step': 'the decision names no model step it was based on (basedOnSeq is null)',
  'step-missing': 'the model step it names is not in the tape or has no recorded answer',
  'unknown-wire-format': 'the model step was recorded in a wire format backfill cannot send',
  'redacted-input': 'the request the model saw contains redacted PII, so its exact input cannot be sent again',
  'unmapped-answer': "the recorded answer's tool does not map to one value of this decision type",
} as const;

/**
 * How a decision is re-decided. `step`: the exact recorded request of the decision step is sent
 * again with only the model changed. `run`: the whole run is forked from its first model step with
 * the agent's own code (reads served from the parent tape, writes stubbed), so a decision that
 * depends on what the model did in earlier steps is re-decided along the candidate's own path.
 */
export const REDECIDE_MODES = ['step', 'run'] as const;
export type RedecideMode = (typeof REDECIDE_MODES)[number];
export type ExclusionReason = keyof typeof EXCLUSION_REASONS;

export const campaignPlanSchema = lazySchema((z) =>
  z.object({
    formatVersion: z.literal(1),
    decisionType: z.string(),
    /** Window on the decisions' effective time, ms since epoch [since, until). */
    window: z.object({ since: z.number(), until: z.number() }),
    candidate: modelTargetSchema(),
    /** `step` or `run` (see REDECIDE_MODES); `run` needs the agent module, named here for `backfill run`. */
    redecide: z.enum(REDECIDE_MODES).default('step'),
    agentModule: z.string().nullable().default(null),
    /** Incumbent provider; its model is each decision's served version unless `model` pins one. */
    incumbent: z.object({ provider: z.enum(['sim', 'openai', 'anthropic', 'gemini']), model: z.string().nullable() }),
    /** Tool chosen at the decision step -> decision value; anything else is `none`. */
    mapping: z.record(z.string(), z.string()),
    population: z.number().int(),
    eligible: z.number().int(),
    excluded: z.array(z.object({ reason: z.string(), description: z.string(), count: z.number().int(), examples: z.array(z.string()) })),
    selected: z.number().int(),
    sample: z.object({ size: z.number().int(), stratifyBy: z.string().nullable(), seed: z.string() }).nullable(),
    noiseFloor: z.number().int(),
    segmentBy: z.string(),
    chunkSize: z.number().int().positive(),
    chunks: z.number().int(),
    estimate: z.object({
      requests: z.number().int(),
      inputTokens: z.number(),
      outputTokens: z.number(),
      costUsd: z.number().nullable(),
      prices: z.string(),
    }),
    createdBy: z.string(),
    /** Item fields every item of the campaign shares, kept here once instead of in each item (compact-items.ts); absent in older plans. */
    itemDefaults: z.record(z.string(), z.unknown()).optional(),
  }),
);
export type CampaignPlan = z.infer<ReturnType<typeof campaignPlanSchema>>;

/** One selected decision, frozen at plan time: everything the executor needs besides the request text. */
export const campaignItemSchema = lazySchema((z) =>
  z.object({
    decisionId: z.string(),
    runId: z.string(),
    seq: z.number().int(),
    agent: z.string(),
    subject: z.string(),
    /** The value shipped. */
    value: z.string(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    reversible: z.boolean(),
    effectiveAt: z.number(),
    attributes: z.record(z.string(), z.string()),
    stepSeq: z.number().int(),
    format: z.string(),
    url: z.string(),
    modelRequested: z.string(),
    modelServed: z.string().nullable(),
    /** Wire body ref of the decision step: the exact request text. */
    requestBody: z.string(),
    /** Seq of the run's first model step: where a `run`-mode fork goes live. */
    firstModelSeq: z.number().int().default(0),
    usage: z.object({ input: z.number(), output: z.number() }),
  }),
);
export type CampaignItem = z.infer<ReturnType<typeof campaignItemSchema>>;

export const armResultSchema = lazySchema((z) =>
  z.union([
    z.object({
      value: z.string(),
      tool: z.string(),
      modelSent: z.string(),
      modelServed: z.string().nullable(),
      inputTokens: z.number(),
      outputTokens: z.number(),
    }),
    /** The endpoint refused this request for good (4xx other than rate limits): counted, not retried. */
    z.object({ error: z.string(), modelSent: z.string() }),
  ]),
);
export type ArmResult = z.infer<ReturnType<typeof armResultSchema>>;

/** What the user's remediation handler receives: one correction to make in the system the decision landed in. */
export const correctionSchema = lazySchema((z) =>
  z.object({
    /** Stable across reruns: pass it to the downstream system so a retried call cannot act twice. */
    idempotencyKey: z.string(),
    campaignId: z.string(),
    decisionId: z.string(),
    runId: z.string(),
    type: z.string(),
    subject: z.string(),
    /** The value shipped, and the value the correction sets. */
    from: z.string(),
    to: z.string(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    /** Why: the triage rule, or the reviewer's verdict. */
    reason: z.string(),
    candidateModel: z.string(),
  }),
);
export type Correction = z.infer<ReturnType<typeof correctionSchema>>;

/** The value of an answer that chose no mapped tool. */
export const NO_DECISION = 'none';

export class CampaignNotFoundError extends RetrialError {
  constructor(campaignId: string, known: string[], storeLocation: string) {
    super({
      code: 'NOT_FOUND',
      message: `No campaign ${campaignId} in the store ${storeLocation}${known.length ? ` (known: ${known.slice(-5).join(', ')})` : ''}; \`npx retrial backfill list\` lists them, \`npx retrial backfill plan\` creates one, --db picks another store.`,
    });
    this.name = 'CampaignNotFoundError';
  }
}

/** Parses a stored payload, naming the campaign when it does not fit (written by another version). */
export function parseStored<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new RetrialError({
    code: 'STORE',
    message: `${what} in the store does not have the shape this retrial expects (${parsed.error.issues[0]?.message ?? 'invalid'}); it may have been written by another version.`,
  });
}
