import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { UsageError } from '../exit-codes.ts';
import { listenFailure } from '../listen-failure.ts';
import { parseIntegerOption } from '../parse-options.ts';

export function registerSimCommand(program: Command): void {
  const sim = program.command('sim').description('The built-in model SIMULATOR (OpenAI- and Anthropic-compatible; not a real model)');
  sim
    .command('serve')
    .description('Serve the simulator over HTTP until interrupted')
    .option('--port <n>', 'port (default 8788; 0 picks a free one)', '8788')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--seed <seed>', "seed of the simulator's sampling noise (default random)")
    .option('--alias <alias=version...>', 'point an alias at a dated version, e.g. support-sim=support-sim-2026-04-01')
    .option('--latency <ms>', 'added latency per request in ms', '0')
    .action(async (options: { port: string; host: string; seed?: string; alias?: string[]; latency: string }) => {
      const aliases = Object.fromEntries(
        (options.alias ?? []).map((pair) => {
          const [alias, version] = pair.split('=');
          if (!alias || !version) throw new UsageError(`--alias ${pair}: expected alias=version, e.g. support-sim=support-sim-2026-04-01.`);
          return [alias, version];
        }),
      );
      const port = parseIntegerOption(options.port, '--port', { max: 65535 }) ?? 8788;
      const { MODEL_VERSIONS, startSimulatorServer } = await import('../../demo/index.ts');
      const versions = Object.keys(MODEL_VERSIONS);
      for (const [alias, version] of Object.entries(aliases)) {
        if (!Object.hasOwn(MODEL_VERSIONS, version))
          throw new UsageError(`--alias ${alias}=${version}: "${version}" is not a simulator version; use one of ${versions.join(', ')}.`);
        if (Object.hasOwn(MODEL_VERSIONS, alias)) throw new UsageError(`--alias ${alias}=${version}: "${alias}" is a dated version and cannot be an alias.`);
      }
      const server = await startSimulatorServer({
        port,
        host: options.host,
        seed: options.seed ?? randomBytes(8).toString('hex'),
        latencyMs: parseIntegerOption(options.latency, '--latency') ?? 0,
        ...(Object.keys(aliases).length ? { aliases } : {}),
      }).catch((error: unknown) => {
        throw listenFailure(error, { host: options.host, port, what: 'simulator', defaultPort: 8788 });
      });
      process.stdout.write(
        `npx retrial model SIMULATOR listening on ${server.url} (OpenAI: ${server.url}/v1/chat/completions and /v1/responses, Anthropic: ${server.url}/v1/messages, Gemini: ${server.url}/v1beta/models/{model}:generateContent). Ctrl-C stops it.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
}
