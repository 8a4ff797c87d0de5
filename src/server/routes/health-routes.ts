import { Hono } from 'hono';
import type { Store } from '../../store/index.ts';

/** GET /health: the server is up and its store answers. */
export function healthRoutes(store: Store): Hono {
  return new Hono().get('/health', async (context) => {
    try {
      await store.findRunIds('', 1);
      return context.json({ ok: true, store: store.location });
    } catch (error) {
      return context.json({ ok: false, store: store.location, error: error instanceof Error ? error.message : String(error) }, 503);
    }
  });
}
