import { Command, CommanderError } from 'commander';
import { RetrialError } from '../tape/index.ts';
import { registerAuditCommand } from './commands/audit-command.ts';
import { registerBackfillCommand } from './commands/backfill-command.ts';
import { registerDecisionsCommand } from './commands/decisions-command.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerExplainCommand } from './commands/explain-command.ts';
import { registerExportImportCommands } from './commands/export-import-commands.ts';
import { registerForkCommand } from './commands/fork-command.ts';
import { registerRemediateCommand } from './commands/remediate-command.ts';
import { registerReplayCommand } from './commands/replay-command.ts';
import { registerReportCommand } from './commands/report-command.ts';
import { registerResampleCommand } from './commands/resample-command.ts';
import { registerReviewCommand } from './commands/review-command.ts';
import { registerRunsCommand } from './commands/runs-command.ts';
import { registerShowCommand } from './commands/show-command.ts';
import { registerSimCommand } from './commands/sim-command.ts';
import { registerVerifyCommand } from './commands/verify-command.ts';
import { asUserError, ExitCode, exitCodeForError } from './exit-codes.ts';

export function createProgram(): Command {
  const program = new Command('retrial')
    .description('Record LLM agent runs completely, reproduce them exactly, measure behaviour rates, and backfill shipped decisions through a new model.')
    .option('--db <location>', 'store: a SQLite file path (default .retrial/retrial.db, or $RETRIAL_DB)')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDemoCommand(program);
  registerRunsCommand(program);
  registerShowCommand(program);
  registerDecisionsCommand(program);
  registerVerifyCommand(program);
  registerReplayCommand(program);
  registerResampleCommand(program);
  registerForkCommand(program);
  registerExplainCommand(program);
  registerReportCommand(program);
  registerBackfillCommand(program);
  registerReviewCommand(program);
  registerRemediateCommand(program);
  registerAuditCommand(program);
  registerExportImportCommands(program);
  registerSimCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
  } catch (caught) {
    const error = asUserError(caught);
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    const code = exitCodeForError(error);
    const message = RetrialError.isInstance(error) ? error.message : `internal error: ${(error as Error)?.stack ?? String(error)}`;
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: RetrialError.isInstance(error) ? error.code : 'INTERNAL', message } })}\n`);
    process.stderr.write(`retrial: ${message}\n`);
    process.exitCode = code;
  }
}

await main(process.argv);
