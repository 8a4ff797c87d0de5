import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadRedactionSalt } from '../../record/index.ts';
import { renderPostmortemReport, replayRun } from '../../replay/index.ts';
import { resolveStoreLocation } from '../../store/index.ts';
import { RetrialError } from '../../tape/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { loadAgentModule } from '../load-agent-module.ts';
import { resolveRunId } from '../resolve-ids.ts';

/** A one-line error for a report file that cannot be written, with the exit code its cause deserves. */
function cannotWrite(path: string, cause: unknown): unknown {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new RetrialError({ code: 'FILE_NOT_FOUND', message: `Cannot write the report to ${path}: no directory ${dirname(path)}.`, cause });
  if (code === 'EISDIR') return new RetrialError({ code: 'USAGE', message: `Cannot write the report to ${path}: it is a directory; name a file.`, cause });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new RetrialError({ code: 'USAGE', message: `Cannot write the report to ${path}: permission denied (${code}).`, cause });
  return cause;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'Write a Markdown repro report for a postmortem: the step and what the model saw, the reproduction, the behaviour rate, what moved, limits, and the commands behind every figure',
    )
    .argument('<run>', 'run id, a unique prefix of one, or a ticket or customer id')
    .option('--agent <module>', 'agent module: runs the exact reproduction for the report and names it in the commands')
    .option('-o, --output <file>', 'file to write (default <run>.repro.md; - for stdout)')
    .option('--resample <id>', 'the stored resample to report (default: the newest against the model the run requested at that step)')
    .action(async (typedRunId: string, options: { agent?: string; output?: string; resample?: string }, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as GlobalOptions & { agent?: string; output?: string; resample?: string };
      const requested = all.output === '-' ? null : (all.output ?? `${typedRunId}.repro.md`);
      // Checked before the replay runs, so a mistyped -o fails fast.
      if (requested !== null) {
        const directory = await stat(dirname(requested)).catch((cause) => {
          throw cannotWrite(requested, cause);
        });
        if (!directory.isDirectory()) throw cannotWrite(requested, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
      }
      await withStore(all, async (store) => {
        const runId = await resolveRunId(store, typedRunId);
        // Named after the run found, not the prefix or ticket typed.
        const path = requested === null || all.output !== undefined ? requested : `${runId}.repro.md`;
        const replay = all.agent
          ? await replayRun({ store, runId, agent: await loadAgentModule(all.agent), redactionSalt: await loadRedactionSalt(resolveStoreLocation(all.db)) })
          : undefined;
        const markdown = await renderPostmortemReport({
          store,
          runId,
          agentModule: all.agent ?? '<your agent module>',
          replay,
          resampleId: all.resample,
        });
        if (path === null) {
          process.stdout.write(markdown);
          return;
        }
        await writeFile(path, markdown, { mode: 0o600 }).catch((cause) => {
          throw cannotWrite(path, cause);
        });
        output(all, { runId, path, bytes: Buffer.byteLength(markdown) }, (result) => `Wrote ${result.path} (${result.bytes} bytes).`);
      });
    });
}
