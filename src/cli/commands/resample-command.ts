import type { Command } from 'commander';
import { describeStep, loadTape } from '../../inspect/index.ts';
import {
  classifyResponse,
  EndpointError,
  endpointFromEnvironment,
  type ModelTarget,
  NO_TOOL,
  parseModelTarget,
  type ResampleResult,
  resampleStep,
  targetProviderOf,
} from '../../replay/index.ts';
import { formatProportion } from '../../stats/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';
import { parseIntegerOption, parseRate } from '../parse-options.ts';
import { renderTable } from '../render-table.ts';
import { resolveRunId } from '../resolve-ids.ts';
import { startSimulatorIfNeeded } from '../simulator-endpoint.ts';

interface ResampleCommandOptions extends GlobalOptions {
  step: string;
  n: string;
  model?: string;
  hypothesis?: string;
  classifyBy?: string;
  concurrency: string;
  rate?: string;
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function renderResample(result: ResampleResult): string {
  const served =
    Object.entries(result.model.served)
      .map(([version, count]) => `${version} ×${count}`)
      .join(', ') || 'none';
  const table = renderTable(
    ['ANSWER', 'COUNT', 'RATE', '95% CI'],
    result.distribution.map((entry) => [
      entry.class,
      String(entry.count),
      percent(entry.estimate.rate),
      `${percent(entry.estimate.low)}-${percent(entry.estimate.high)}`,
    ]),
  );
  return [
    `Resampled step ${result.step} of ${result.runId} (${result.causalKey}) ${result.completed} times with model ${result.model.sent} (served: ${served}); classified by ${result.classifiedBy}.`,
    `Hypothesis "${result.hypothesis.class}" (fixed before sampling, N=${result.n}): ${formatProportion(result.hypothesis.estimate)}`,
    '',
    table,
    '',
    `Recorded answer: ${result.recordedClass}. Tokens: ${result.tokens.input.toLocaleString('en-US')} in, ${result.tokens.output.toLocaleString('en-US')} out; cost ${result.costUsd === null ? 'unknown (no price for this model)' : `$${result.costUsd.toFixed(4)}`}.`,
    `Stored with the run as ${result.analysisId}.${result.complete ? '' : ` PARTIAL: ${result.failed} requests failed.`}`,
  ].join('\n');
}

export function registerResampleCommand(program: Command): void {
  program
    .command('resample')
    .description('Send the exact request recorded at a step N times to a live model; report how often each answer comes back, with 95% intervals')
    .argument('<run>', 'run id, a unique prefix of one, or a ticket or customer id')
    .requiredOption('--step <k>', 'the model step to resample (see `retrial show <run>`)')
    .option('-n <count>', 'number of samples, fixed in advance', '200')
    .option(
      '--model <provider:name>',
      'sim:<name>, openai:<name>, anthropic:<name> or gemini:<name> (default: the recorded model; endpoints from OPENAI_BASE_URL/OPENAI_API_KEY, ANTHROPIC_* or GEMINI_*)',
    )
    .option('--hypothesis <answer>', 'the answer whose rate is the headline (default: the recorded answer)')
    .option(
      '--classify-by <path>',
      'classify by a JSON path of the canonical response, e.g. content[0].input.days, or by `tools`: every tool one answer chose (parallel tool calls) (default: tool chosen, the first)',
    )
    .option('--concurrency <n>', 'requests in flight', '8')
    .option('--rate <n/s>', 'at most this many requests per second, e.g. 5, 5/s or 300/min')
    .action(async (typedRunId: string, options: ResampleCommandOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as ResampleCommandOptions;
      const step = parseIntegerOption(all.step, '--step') ?? 0;
      const n = parseIntegerOption(all.n, '-n', { min: 1, max: 1_000_000 }) ?? 200;
      const concurrency = parseIntegerOption(all.concurrency, '--concurrency', { min: 1, max: 256 });
      const ratePerSecond = all.rate === undefined ? undefined : parseRate(all.rate);
      await withStore(all, async (store) => {
        const runId = await resolveRunId(store, typedRunId);
        const detail = describeStep(await loadTape(store, runId), step);
        // Classified by tool, an answer is a tool offered, no tool, or what was recorded: any other hypothesis can only read 0%.
        if (detail.kind === 'model' && all.hypothesis !== undefined && all.classifyBy === undefined) {
          const answers = new Set([...detail.tools.map((tool) => tool.name), NO_TOOL]);
          if (detail.response) answers.add(classifyResponse(detail.response, null));
          if (!answers.has(all.hypothesis))
            throw new UsageError(
              `--hypothesis "${all.hypothesis}" is not an answer step ${step} can give: classified by tool chosen, it must be one of ${[...answers].join(', ')} (or pass --classify-by <path>).`,
            );
        }
        const recordedModel = detail.kind === 'model' ? detail.model.requested : 'unknown';
        const fromSimulator = detail.kind === 'model' && detail.wire.responseHeaders['x-simulator'] !== undefined;
        const target: ModelTarget = all.model
          ? parseModelTarget(all.model)
          : {
              provider: fromSimulator ? 'sim' : detail.kind === 'model' ? targetProviderOf(detail.provider) : 'openai',
              model: recordedModel,
            };
        const simulator = await startSimulatorIfNeeded(target.provider === 'sim');
        try {
          const endpoint = simulator.endpoint ?? endpointFromEnvironment(target);
          const result = await resampleStep({
            store,
            runId,
            step,
            n,
            target,
            ...endpoint,
            hypothesis: all.hypothesis ?? null,
            classifyBy: all.classifyBy ?? null,
            concurrency,
            ratePerSecond,
            onProgress: (done, total) => {
              if (!all.json && process.stderr.isTTY) process.stderr.write(`\rResampling ${done}/${total}`);
            },
          }).catch((error: unknown) => {
            const partial = (error as { partial?: ResampleResult }).partial;
            if (!all.json || !EndpointError.isInstance(error) || !partial) throw error;
            // With --json the stored partial result goes out with the error, not just the message.
            output(all, { error: { code: error.code, message: error.message }, partial }, () => '');
            process.stderr.write(`retrial: ${error.message}\n`);
            process.exitCode = ExitCode.endpoint;
            return null;
          });
          if (!all.json && process.stderr.isTTY) process.stderr.write('\n');
          if (result) output(all, result, renderResample);
        } finally {
          await simulator.close();
        }
      });
    });
}
