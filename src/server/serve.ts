import { isIP } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Store } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';
import { type AppOptions, createApp } from './create-app.ts';

export interface ServerOptions extends AppOptions {
  store: Store;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 7778. */
  port?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:7778 */
  url: string;
  port: number;
  /** Stops taking connections and waits for the open ones to finish. */
  close(): Promise<void>;
}

export const DEFAULT_SERVER_PORT = 7778;

/** Whether `host` is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/**
 * Serves the app on Node. Beyond loopback a token is required: anyone who can reach the port could
 * otherwise write runs into the store. Rejects with the listen error (EADDRINUSE...) for the caller to word.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.token)
    throw new RetrialError({
      code: 'USAGE',
      message: `Refusing to listen on ${host} without a token: anyone who can reach it could write runs into the store. Pass --token <secret> or set RETRIAL_TOKEN, or listen on 127.0.0.1.`,
    });
  const app = createApp(options);
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_SERVER_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? DEFAULT_SERVER_PORT);
  const shownHost = isIP(host) === 6 ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      }),
  };
}
