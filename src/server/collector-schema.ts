import type { z } from 'zod';
import type { CollectorRequest } from '../record/index.ts';
import { lazySchema, TAPE_FORMAT_VERSION } from '../tape/index.ts';

/**
 * The schema of POST /v1/batches (the shapes in src/record/collector-wire.ts): what a recorder
 * sends. It checks form only; whether events chain onto their run is apply-collector-items.ts.
 * Built on first use, through the tape's one copy of zod (see lazySchema).
 */
export const collectorRequestSchema = lazySchema((z) => {
  const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex sha256');
  const runId = z.string().min(1).max(256);
  const count = z.number().int().nonnegative();

  const headerSchema = z.looseObject({
    formatVersion: z.literal(TAPE_FORMAT_VERSION),
    runId,
    agent: z.string().min(1),
    codeVersion: z.string(),
    recordedAt: z.string(),
    wallClockAt: z.string(),
    timeZone: z.string(),
    seed: z.string(),
    recorderFlags: z.array(z.number().int()),
    externalIds: z.record(z.string(), z.string()),
    recorder: z.string(),
  });

  const endingSchema = z.object({
    status: z.enum(['complete', 'failed', 'incomplete']),
    output: sha256.nullable(),
    error: z.object({ name: z.string(), message: z.string() }).nullable(),
  });

  const runRecordSchema = z.object({
    header: headerSchema,
    status: z.enum(['recording', 'complete', 'failed', 'incomplete']),
    rootHash: sha256,
    headHash: sha256,
    sealHash: sha256.nullable(),
    eventCount: count,
    ending: endingSchema.nullable(),
  });

  const writerSchema = z.object({ pid: z.number().int(), host: z.string() });

  const eventSchema = z.object({ seq: count, kind: z.string().min(1), key: z.string(), at: z.number(), json: z.string().min(2), hash: sha256 });

  const blobSchema = z.discriminatedUnion('encoding', [
    z.object({ hash: sha256, encoding: z.literal('json'), text: z.string() }),
    z.object({ hash: sha256, encoding: z.literal('json+deflate'), size: count, base64: z.base64() }),
  ]);

  const decisionSchema = z.object({
    decisionId: z.string().min(1),
    runId,
    seq: count,
    agent: z.string(),
    type: z.string(),
    subject: z.string(),
    value: z.string(),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    reversible: z.boolean(),
    effectiveAt: z.number(),
    recordedAt: z.number(),
    modelServed: z.string().nullable(),
    attributes: z.record(z.string(), z.string()),
    supersedes: z.string().nullable(),
  });

  const writeBatchSchema = z.object({
    runsStarted: z.array(z.object({ run: runRecordSchema, writer: writerSchema })),
    appends: z.array(z.object({ runId, events: z.array(eventSchema).min(1), headHash: sha256 })),
    blobs: z.array(blobSchema),
    decisions: z.array(decisionSchema),
    runsEnded: z.array(z.object({ runId, ending: endingSchema, sealHash: sha256, modelsServed: z.array(z.string()) })),
  });

  const itemSchema = z.discriminatedUnion('type', [
    z.object({ type: z.literal('write'), batch: writeBatchSchema }),
    z.object({ type: z.literal('mark'), mark: z.object({ record: runRecordSchema, ending: endingSchema, writer: writerSchema }) }),
  ]);

  return z.object({ items: z.array(itemSchema).min(1, 'expected at least one item') });
});

export type ParsedCollectorRequest = z.infer<ReturnType<typeof collectorRequestSchema>>;
export type ParsedCollectorItem = ParsedCollectorRequest['items'][number];
export type ParsedWriteBatch = Extract<ParsedCollectorItem, { type: 'write' }>['batch'];

// What a recorder sends must be what this schema takes: a field renamed on one side breaks the build.
const _recorderSendsWhatTheSchemaTakes = (request: CollectorRequest): z.input<ReturnType<typeof collectorRequestSchema>> => request;
void _recorderSendsWhatTheSchemaTakes;

/** The issues of a failed parse, one line each, with where in the body they are (`items.0.batch.appends.2.events.0.hash`). */
export function describeIssues(error: z.ZodError, limit = 10): string[] {
  return error.issues.slice(0, limit).map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`);
}
