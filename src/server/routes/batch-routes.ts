import { Hono } from 'hono';
import { COLLECTOR_BATCHES_PATH, type CollectorAccepted } from '../../record/index.ts';
import type { Store } from '../../store/index.ts';
import { applyCollectorItem, CollectorRejection } from '../apply-collector-items.ts';
import { collectorRequestSchema, describeIssues } from '../collector-schema.ts';
import { errorBody } from '../error-body.ts';

/**
 * POST /v1/batches: a recorder's batches, applied in order, each atomically. Items are applied one
 * request at a time (`serialize`), so two deliveries of one batch (a retry racing the original)
 * see each other's writes and the second is recognised as already stored.
 */
export function batchRoutes(store: Store, serialize: <T>(work: () => Promise<T>) => Promise<T>): Hono {
  return new Hono().post(COLLECTOR_BATCHES_PATH, async (context) => {
    const type = context.req.header('content-type') ?? '';
    if (!/^application\/json\b/i.test(type))
      return context.json(errorBody('UNSUPPORTED_MEDIA_TYPE', `Send the batches as JSON (Content-Type: application/json), not "${type || 'none'}".`), 415);
    let body: unknown;
    try {
      body = await context.req.json();
    } catch (error) {
      return context.json(errorBody('INVALID_JSON', `The body is not JSON: ${error instanceof Error ? error.message : String(error)}`), 400);
    }
    const parsed = collectorRequestSchema().safeParse(body);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      return context.json(errorBody('INVALID_BODY', `The body is not a batch request: ${issues[0]}`, { issues }), 400);
    }
    const { items } = parsed.data;
    return serialize(async () => {
      for (const [index, item] of items.entries()) {
        try {
          await applyCollectorItem(store, item);
        } catch (error) {
          if (!(error instanceof CollectorRejection)) throw error;
          const runs = error.runs.length ? { runs: error.runs } : {};
          return context.json(errorBody(error.code, `Item ${index}: ${error.message}`, { acceptedItems: index, ...runs }), error.status);
        }
      }
      return context.json({ accepted: items.length } satisfies CollectorAccepted);
    });
  });
}
