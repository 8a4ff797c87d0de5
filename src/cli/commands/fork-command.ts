import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadRedactionSalt } from '../../record/index.ts';
import { endpointFromEnvironment, type ForkOverrides, type ForkResult, forkRun, parseModelTarget, renderRefusedRequests } from '../../replay/index.ts';
import { resolveStoreLocation } from '../../store/index.ts';
import { RetrialError } from '../../tape/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { parseIntegerOption } from '../parse-options.ts';
import { resolveRunId } from '../resolve-ids.ts';
import { startSimulatorIfNeeded } from '../simulator-endpoint.ts';

interface ForkCommandOptions extends GlobalOptions {
  at: string;
  agent: string;
  model?: string;
  systemPromptFile?: string;
  temperature?: string;
  reads: string;
}

function renderFork(result: ForkResult): string {
  return [
    `Forked ${result.parentRunId} at step ${result.atSeq} (${result.liveFrom}) into ${result.childRunId}.`,
    `  served from the parent tape: ${result.counts.servedFromParent}; live model calls: ${result.counts.liveModelCalls}; live reads: ${result.counts.liveReads}; write tools stubbed: ${result.counts.stubbedWrites} (none ran).`,
    result.endpointError
      ? `  the model endpoint failed: ${result.endpointError}; the child run ended with: ${result.error ?? 'no error'}. Check the base URL and key in the environment.`
      : result.error
        ? `  the child run failed: ${result.error}`
        : `  output: ${JSON.stringify(result.output)}`,
    ...[renderRefusedRequests(result.refusedRequests)].flatMap((refused) => (refused ? [`  ${refused}`] : [])),
    `See it: ${RETRIAL_COMMAND} show ${result.childRunId}`,
  ].join('\n');
}

async function readPromptFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RetrialError({
      code: missing ? 'FILE_NOT_FOUND' : 'USAGE',
      message: `--system-prompt-file ${path}: ${missing ? 'no such file' : (cause as Error).message}.`,
      cause,
    });
  }
}

export function registerForkCommand(program: Command): void {
  program
    .command('fork')
    .description(
      'Replay a run strictly up to model step k, then go live from k with another model, prompt or sampling; the child run is stored with its lineage',
    )
    .argument('<run>', 'parent run id, a unique prefix of one, or a ticket or customer id')
    .requiredOption('--at <k>', 'the model step from which the child goes live')
    .requiredOption('--agent <module>', 'file whose default export is the agent (defineAgent)')
    .option('--model <provider:name>', 'model from step k on: sim:<name>, openai:<name>, anthropic:<name> or gemini:<name>')
    .option('--system-prompt-file <file>', 'system prompt to use from step k on')
    .option('--temperature <t>', 'sampling temperature from step k on')
    .option('--reads <policy>', 'read tools not on the parent tape: frozen (refuse) or live (run them)', 'frozen')
    .action(async (typedRunId: string, options: ForkCommandOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as ForkCommandOptions;
      if (all.reads !== 'frozen' && all.reads !== 'live') throw new UsageError('--reads must be frozen or live.');
      const temperature = all.temperature === undefined ? undefined : Number(all.temperature);
      if (temperature !== undefined && !(temperature >= 0 && temperature <= 2))
        throw new UsageError(`--temperature must be a number from 0 to 2, not "${all.temperature}".`);
      const target = all.model ? parseModelTarget(all.model) : { provider: 'sim' as const, model: '' };
      const overrides: ForkOverrides = {
        ...(all.model ? { model: target.model } : {}),
        ...(all.systemPromptFile ? { systemPrompt: await readPromptFile(all.systemPromptFile) } : {}),
        ...(temperature === undefined ? {} : { temperature }),
      };
      const agent = await loadAgentModule(all.agent);
      const simulator = await startSimulatorIfNeeded(target.provider === 'sim');
      try {
        const endpoint = simulator.endpoint ?? endpointFromEnvironment(target);
        await withStore(all, async (store) => {
          const runId = await resolveRunId(store, typedRunId);
          const salt = await loadRedactionSalt(resolveStoreLocation(all.db));
          const result = await forkRun({
            store,
            runId,
            atSeq: parseIntegerOption(all.at, '--at') ?? 0,
            agent,
            redactionSalt: salt,
            overrides,
            reads: all.reads as 'frozen' | 'live',
            endpoint,
          });
          output(all, result, renderFork);
          // The child is stored either way; a script still needs to know it did not finish.
          if (result.endpointError) process.exitCode = ExitCode.endpoint;
          else if (result.error) process.exitCode = ExitCode.checkFailed;
        });
      } finally {
        await simulator.close();
      }
    });
}
