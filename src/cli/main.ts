import { CommanderError } from 'commander';
import { ExitCode } from './exit-status.ts';
import { createProgram } from './program.ts';

async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  try {
    await (await createProgram(argv)).parseAsync(argv);
  } catch (caught) {
    if (caught instanceof CommanderError) {
      process.exitCode = caught.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    // Loaded only on failure: printing help needs neither, and the tape module loads zod's schemas.
    const [{ RetrialError }, { asUserError, exitCodeForError }, { missingOptionalPackage }] = await Promise.all([
      import('../tape/index.ts'),
      import('./exit-codes.ts'),
      import('./optional-dependency.ts'),
    ]);
    const error = missingOptionalPackage(caught) ?? asUserError(caught);
    const code = exitCodeForError(error);
    const message = RetrialError.isInstance(error) ? error.message : `internal error: ${(error as Error)?.stack ?? String(error)}`;
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: RetrialError.isInstance(error) ? error.code : 'INTERNAL', message } })}\n`);
    process.stderr.write(`retrial: ${message}\n`);
    process.exitCode = code;
  }
}

await main(process.argv);
