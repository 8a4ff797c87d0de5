import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Store } from '../store/index.ts';
import { errorBody } from './error-body.ts';
import { batchRoutes } from './routes/batch-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { tokenAuth } from './token-auth.ts';

export interface AppOptions {
  store: Store;
  /** The bearer token every request must carry; undefined lets every request in (loopback only, see startServer). */
  token: string | undefined;
  /** Largest request body, bytes. Default 128 MB: a recorder sends a value of up to 64 MB alone. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024;

/**
 * The HTTP API over a store: the collector's routes now, the web UI's later. Every route sits
 * behind the token; every error is JSON `{ error: { code, message } }`.
 */
export function createApp({ store, token, maxBodyBytes = DEFAULT_MAX_BODY_BYTES }: AppOptions): Hono {
  let tail: Promise<unknown> = Promise.resolve();
  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work, work);
    tail = result.catch(() => {});
    return result;
  };
  const app = new Hono();
  app.use('*', tokenAuth(token));
  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: (context) =>
        context.json(errorBody('BODY_TOO_LARGE', `The body is larger than this collector takes (${maxBodyBytes} bytes, --max-body-mb).`), 413),
    }),
  );
  app.route('/', healthRoutes(store));
  app.route('/', batchRoutes(store, serialize));
  app.notFound((context) => context.json(errorBody('NOT_FOUND', `No route ${context.req.method} ${context.req.path}.`), 404));
  app.onError((error, context) => context.json(errorBody('INTERNAL', `The server failed: ${error instanceof Error ? error.message : String(error)}`), 500));
  return app;
}
