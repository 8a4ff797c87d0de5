import type { Command } from 'commander';
import { type GlobalOptions, withStore } from '../command-context.ts';
import { listenFailure } from '../listen-failure.ts';
import { parseIntegerOption } from '../parse-options.ts';

interface ServerCommandOptions extends GlobalOptions {
  port: string;
  host: string;
  token?: string;
  maxBodyMb: string;
}

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('Serve the HTTP API over the store: a collector recorders send runs to (RETRIAL_URL, RETRIAL_TOKEN) when they cannot reach the store')
    .option('--port <n>', 'port (default 7778; 0 picks a free one)', '7778')
    .option('--host <host>', 'interface to listen on; beyond loopback a token is required', '127.0.0.1')
    .option('--token <secret>', 'bearer token every request must carry (default $RETRIAL_TOKEN)')
    .option('--max-body-mb <n>', 'largest request body in MB', '128')
    .action(async (_options: ServerCommandOptions, command: Command) => {
      const options = command.optsWithGlobals() as ServerCommandOptions;
      const port = parseIntegerOption(options.port, '--port', { max: 65535 }) ?? 7778;
      const maxBodyMb = parseIntegerOption(options.maxBodyMb, '--max-body-mb', { min: 1, max: 4096 }) ?? 128;
      const token = options.token || process.env.RETRIAL_TOKEN || undefined;
      const { startServer } = await import('../../server/index.ts');
      await withStore(
        options,
        async (store) => {
          const server = await startServer({ store, host: options.host, port, token, maxBodyBytes: maxBodyMb * 1024 * 1024 }).catch((error: unknown) => {
            throw listenFailure(error, { host: options.host, port, what: 'retrial server', defaultPort: 7778 });
          });
          process.stdout.write(
            `retrial server listening on ${server.url} (store ${store.location}; ${token ? 'token required' : 'no token: loopback only'}). Recorders: RETRIAL_URL=${server.url}${token ? ' RETRIAL_TOKEN=<the token>' : ''}. Ctrl-C stops it.\n`,
          );
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          await server.close();
        },
        { create: true },
      );
    });
}
