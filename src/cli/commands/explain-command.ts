import type { Command } from 'commander';
import { describeStep, loadTape } from '../../inspect/index.ts';
import { loadRedactionSalt } from '../../record/index.ts';
import {
  type CounterfactualResult,
  ExplainNotReproducedError,
  type ExplainResult,
  endpointFromEnvironment,
  explainRun,
  type ModelTarget,
  outcomeOf,
  renderRefusedRequests,
  targetProviderOf,
} from '../../replay/index.ts';
import { formatProportion } from '../../stats/index.ts';
import { resolveStoreLocation } from '../../store/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { ExitCode } from '../exit-codes.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { parseIntegerOption } from '../parse-options.ts';
import { renderTable } from '../render-table.ts';
import { resolveRunId } from '../resolve-ids.ts';
import { startSimulatorIfNeeded } from '../simulator-endpoint.ts';
import { renderDivergence } from './replay-command.ts';

interface ExplainCommandOptions extends GlobalOptions {
  agent: string;
  n: string;
}

const LABELS: Record<string, string> = {
  recorded: 'everything as recorded',
  model: 'model behind the alias: now',
  prompt: 'prompt and config: now',
  toolData: 'tool and retrieval data: now',
  clock: 'clock: now',
  current: 'everything now',
};

/**
 * Whether switching the configuration moved the rate. A difference the test cannot tell from
 * noise says so; "no" only where the rate did not move, or the factor itself did not (nothing was switched).
 */
export function renderExplain(result: ExplainResult): string {
  const refused = renderRefusedRequests(result.refusedRequests ?? []);
  const refusedLines = refused ? [refused] : [];
  const factors = renderTable(
    ['FACTOR', 'RECORDED', 'NOW', 'MOVED'],
    result.factors.map((factor) => [
      factor.factor,
      factor.recorded.slice(0, 60),
      factor.current.slice(0, 60),
      factor.moved === null ? 'unknown' : factor.moved ? 'yes' : 'no',
    ]),
  );
  const baseline = result.counterfactuals.find((entry) => entry.configuration === 'recorded') as CounterfactualResult;
  const label = (entry: CounterfactualResult) => LABELS[entry.configuration] ?? entry.configuration;
  const counterfactuals = renderTable(
    ['CONFIGURATION', `${result.recordedAnswer} AGAIN`, 'CHANGES THE OUTCOME'],
    result.counterfactuals.map((entry) => [
      label(entry),
      entry.failure !== undefined ? 'run failed' : formatProportion(entry.estimate),
      outcomeOf(entry, result),
    ]),
  );
  const failed = result.counterfactuals.filter((entry) => entry.failure !== undefined).map((entry) => `${label(entry)} failed: ${entry.failure}`);
  const named = result.explainingFactors.length
    ? result.explainingFactors.join(' and ')
    : `no single factor${baseline.estimate.trials ? ` at N=${baseline.estimate.trials}` : ''}`;
  return [
    `Why ${result.runId} does not reproduce now: the decision ${result.decision.type}=${result.decision.value} came from a model step that answered ${result.recordedAnswer}.`,
    '',
    factors,
    '',
    counterfactuals,
    ...(failed.length ? ['', ...failed] : []),
    '',
    `Explained by: ${named} (two-proportion test against everything-as-recorded, p < 0.001 each${failed.length ? '; failed configurations not tested' : ''}).`,
    `Not captured by the tape, so not tested: ${result.notCaptured.join('; ')}.`,
    ...refusedLines,
  ].join('\n');
}

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('Why does it work when I try it now? Compare recorded vs now for model, prompt, tool data and clock, and switch one at a time')
    .argument('<run>', 'run id, a unique prefix of one, or a ticket or customer id')
    .requiredOption('--agent <module>', 'file whose default export is the agent (defineAgent)')
    .option('-n <count>', 'samples of the decision step per configuration', '1000')
    .action(async (typedRunId: string, options: ExplainCommandOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as ExplainCommandOptions;
      const agent = await loadAgentModule(all.agent);
      await withStore(all, async (store) => {
        const runId = await resolveRunId(store, typedRunId);
        const salt = await loadRedactionSalt(resolveStoreLocation(all.db));
        const tape = await loadTape(store, runId);
        const firstModel = tape.events.find((event) => event.kind === 'model');
        const detail = firstModel ? describeStep(tape, firstModel.seq) : undefined;
        const simulated = detail?.kind === 'model' && detail.wire.responseHeaders['x-simulator'] !== undefined;
        // The simulator "now" is the demo world now: the alias has moved on.
        const simulator = await startSimulatorIfNeeded(simulated, simulated ? (await import('../../demo/index.ts')).DEMO_NOW_ALIASES : undefined);
        try {
          const target: ModelTarget = { provider: detail?.kind === 'model' ? targetProviderOf(detail.provider) : 'openai', model: '' };
          const endpoint = simulator.endpoint ?? endpointFromEnvironment(target);
          const result = await explainRun({
            store,
            runId,
            agent,
            redactionSalt: salt,
            endpoint,
            repetitions: parseIntegerOption(all.n, '-n', { min: 10, max: 100_000 }),
          }).catch((error: unknown) => {
            if (!(error instanceof ExplainNotReproducedError)) throw error;
            if (all.json) process.stdout.write(`${JSON.stringify({ error: { code: error.code, message: error.message, divergence: error.divergence } })}\n`);
            const why = error.divergence
              ? `${renderDivergence(error.divergence)}\nSee where: ${RETRIAL_COMMAND} replay ${runId} --agent ${all.agent}`
              : error.reason;
            process.stderr.write(`retrial: ${error.headline}:\n${why}\nNothing was stored.\n`);
            process.exitCode = ExitCode.checkFailed;
            return undefined;
          });
          if (result) output(all, result, renderExplain);
        } finally {
          await simulator.close();
        }
      });
    });
}
