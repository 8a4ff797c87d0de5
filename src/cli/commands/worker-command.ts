import type { Command } from 'commander';
import type { BackfillWorkerSummary, WorkerEvent } from '../../backfill/index.ts';
import { resolveStoreLocation } from '../../store/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { parseIntegerOption, parseRate } from '../parse-options.ts';
import { requireQueueUrl } from '../queue-location.ts';
import { campaignEndpointsFromCli } from './backfill-command.ts';

function renderEvent(event: WorkerEvent): string {
  switch (event.type) {
    case 'chunk-started':
      return `chunk ${event.chunk} of ${event.campaignId}: started (${event.arms} arms to run)`;
    case 'chunk-finished':
      return `chunk ${event.chunk} of ${event.campaignId}: done (${event.written} results written)`;
    case 'chunk-released':
      return `chunk ${event.chunk} of ${event.campaignId}: put back on the queue with ${event.pending} arms pending (${event.written} results written): ${event.reason}`;
    case 'queue-unreachable':
      return `PostgreSQL is not answering (${event.message}); retrying until it is back`;
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run backfill chunks from the PostgreSQL queue that `backfill run --distributed` fills, on this machine, until stopped')
    .option('--queue <postgres-url>', 'the queue (default: --db when it is postgres://, else $RETRIAL_QUEUE)')
    .option('--concurrency <n>', 'model requests in flight in this worker', '16')
    .option('--rate <n/s>', 'at most this many requests per second from this worker, e.g. 50/s or 3000/min')
    .option('--jobs <n>', 'chunks held at once (2 keeps requests flowing across one chunk’s slow tail)', '2')
    .option('--pool-size <n>', 'PostgreSQL connections of the queue at most', '4')
    .option('--reclaim-interval <seconds>', 'how often to look for chunks whose worker died and put them back (after their job timeout)', '10')
    .option('--exit-when-idle', 'exit when the queue has nothing left, instead of waiting for more')
    .option('--agent <module>', 'the agent module, for campaigns planned with --redecide run (default: the one named at plan time)')
    .option('--sim-seed <seed>', 'seed of the in-process simulator for sim: models; with it each request gets the same answer in every process')
    .option('--sim-latency <ms>', 'added latency of each simulated answer (load tests)', '0')
    .action(async (options: Record<string, string | boolean | undefined>, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const text = (name: string) => options[name] as string | undefined;
      const concurrency = parseIntegerOption(text('concurrency'), '--concurrency', { min: 1, max: 1024 });
      const jobs = parseIntegerOption(text('jobs'), '--jobs', { min: 1, max: 64 });
      const rate = text('rate') ? parseRate(text('rate') as string) : null;
      const poolSize = parseIntegerOption(text('poolSize'), '--pool-size', { min: 2, max: 100 });
      const reclaim = parseIntegerOption(text('reclaimInterval'), '--reclaim-interval', { min: 1, max: 3600 });
      const simLatencyMs = parseIntegerOption(text('simLatency'), '--sim-latency', { max: 600_000 });
      const url = requireQueueUrl(text('queue'), all.db, 'retrial worker');
      const print = (line: string) => {
        if (!all.json) process.stdout.write(`${line}\n`);
      };
      await withStore(all, async (store) => {
        const { openBackfillQueue, runBackfillWorker, describePostgresFailure, redactedUrl } = await import('../../backfill/index.ts');
        let lastError = '';
        const queue = await openBackfillQueue({
          url,
          poolSize,
          supervise: true,
          maintenanceIntervalSeconds: reclaim,
          onError: (error) => {
            const message = String((describePostgresFailure(error, url, 'the queue') as Error).message);
            if (message !== lastError) process.stderr.write(`queue: ${message}\n`);
            lastError = message;
          },
        });
        const controller = new AbortController();
        const stop = (signal: NodeJS.Signals) => {
          if (controller.signal.aborted) process.exit(130);
          print(`${signal}: finishing the requests in flight, putting unfinished chunks back, then exiting (again to exit at once)`);
          controller.abort(signal);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        let summary: BackfillWorkerSummary;
        try {
          print(
            `worker ${process.pid}: queue ${redactedUrl(url)}, store ${resolveStoreLocation(all.db)}, ${concurrency} requests in flight, ${jobs} chunk${jobs === 1 ? '' : 's'} at once; waiting for chunks`,
          );
          summary = await runBackfillWorker({
            store,
            queue,
            concurrency,
            ratePerSecond: rate,
            jobs,
            signal: controller.signal,
            exitWhenIdle: options.exitWhenIdle === true,
            endpointsFor: (campaignId, plan) =>
              campaignEndpointsFromCli(store, campaignId, plan, { agentModule: text('agent'), db: all.db, simSeed: text('simSeed'), simLatencyMs }),
            onEvent: (event) => {
              if (all.json) process.stderr.write(`${JSON.stringify(event)}\n`);
              else print(renderEvent(event));
            },
          });
        } finally {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          await queue.close();
        }
        output(
          all,
          summary,
          (done) =>
            `worker ${process.pid} stopped: ${count(done.chunksFinished, 'chunk')} done, ${done.chunksReleased} put back, ${count(done.written, 'result')} written.`,
        );
      });
    });
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
