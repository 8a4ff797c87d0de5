import type { Command } from 'commander';
import { DIVERGENCE_TITLES, type Divergence, type ReplayResult, replayRun } from '../../replay/index.ts';
import { resolveStoreLocation } from '../../store/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { ExitCode } from '../exit-codes.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { loadSalt } from '../redaction-salt.ts';

interface ReplayCommandOptions extends GlobalOptions {
  agent: string;
  lenient?: boolean;
  pace?: boolean;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'undefined');
}

export function renderDivergence(divergence: Divergence): string {
  const lines = [
    `${divergence.code} at ${divergence.seq === null ? 'a call the tape does not have' : `step ${divergence.seq}`} (${divergence.causalKey}): ${divergence.message}`,
  ];
  lines.push(`  means: ${DIVERGENCE_TITLES[divergence.code]}`);
  if (divergence.site) lines.push(`  replayed at ${divergence.site}`);
  if (divergence.recordedSite) lines.push(`  recorded at ${divergence.recordedSite}`);
  for (const difference of divergence.differences) {
    lines.push(`  ${difference.path}`, `    recorded: ${show(difference.expected)}`, `    replayed: ${show(difference.received)}`);
  }
  return lines.join('\n');
}

function renderReplay(result: ReplayResult): string {
  if (result.ok)
    return `REPRODUCED ${result.runId}: ${result.served} of ${result.recordedEvents} recorded events served from the tape, same calls, order, decisions and output (${result.durationMs.toFixed(0)} ms). No tool ran; nothing left the process.`;
  return [
    `DIVERGED ${result.runId} (${result.divergences.length} divergence${result.divergences.length === 1 ? '' : 's'}):`,
    ...result.divergences.map(renderDivergence),
  ].join('\n');
}

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description("Re-execute the agent's own code with every call, read and draw served from the tape; report the first divergence")
    .argument('<run>', 'run id')
    .requiredOption('--agent <module>', 'file whose default export is the agent (defineAgent), e.g. src/demo/support-agent.ts')
    .option('--lenient', 'report every divergence instead of stopping at the first')
    .option('--pace', 're-stream recorded streams at their recorded pace')
    .action(async (runId: string, options: ReplayCommandOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as ReplayCommandOptions;
      const agent = await loadAgentModule(all.agent);
      await withStore(all, async (store) => {
        const salt = await loadSalt(resolveStoreLocation(all.db));
        const result = await replayRun({ store, runId, agent, redactionSalt: salt, lenient: all.lenient, paceStreams: all.pace, env: {} });
        output(all, result, renderReplay);
        if (!result.ok) process.exitCode = ExitCode.checkFailed;
      });
    });
}
