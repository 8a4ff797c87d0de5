import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { renderPostmortemReport, replayRun } from '../../replay/index.ts';
import { resolveStoreLocation } from '../../store/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { loadSalt } from '../redaction-salt.ts';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Write a Markdown repro report for a postmortem: the step and what the model saw, the reproduction, the behaviour rate, what moved, limits, and the commands behind every figure',
    )
    .argument('<run>', 'run id')
    .option('--agent <module>', 'agent module: runs the exact reproduction for the report and names it in the commands')
    .option('-o, --output <file>', 'file to write (default <run>.repro.md; - for stdout)')
    .action(async (runId: string, options: { agent?: string; output?: string }, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as GlobalOptions & { agent?: string; output?: string };
      await withStore(all, async (store) => {
        const replay = all.agent
          ? await replayRun({ store, runId, agent: await loadAgentModule(all.agent), redactionSalt: await loadSalt(resolveStoreLocation(all.db)) })
          : undefined;
        const markdown = await renderPostmortemReport({ store, runId, agentModule: all.agent ?? '<your agent module>', replay });
        if (all.output === '-') {
          process.stdout.write(markdown);
          return;
        }
        const path = all.output ?? `${runId}.repro.md`;
        await writeFile(path, markdown);
        output(all, { runId, path, bytes: Buffer.byteLength(markdown) }, (result) => `Wrote ${result.path} (${result.bytes} bytes).`);
      });
    });
}
