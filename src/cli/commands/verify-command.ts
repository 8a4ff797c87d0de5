import type { Command } from 'commander';
import { type RunVerification, verifyStore } from '../../store/index.ts';
import { type GlobalOptions, withStore } from '../command-context.ts';
import { ExitCode } from '../exit-codes.ts';

interface VerifyResult {
  runs: number;
  failed: number;
  events: number;
  blobsChecked: number;
  databaseProblems: string[];
  problems: Array<RunVerification['problems'][number] & { runId: string }>;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description("Check every run's hash chain, seal and blob hashes; any changed byte is reported with its run and event")
    .argument('[runs...]', 'only these run ids')
    .action(async (runIds: string[], _options: unknown, command: Command) => {
      const options = command.optsWithGlobals() as GlobalOptions;
      const result: VerifyResult = { runs: 0, failed: 0, events: 0, blobsChecked: 0, databaseProblems: [], problems: [] };
      await withStore(options, async (store) => {
        const checkable = store as { integrityCheck?: () => Promise<string[]> };
        if (checkable.integrityCheck) result.databaseProblems = await checkable.integrityCheck();
        for await (const verification of verifyStore(store, runIds.length ? runIds : undefined)) {
          result.runs++;
          result.events += verification.events;
          result.blobsChecked += verification.blobsChecked;
          if (!verification.ok) {
            result.failed++;
            for (const problem of verification.problems) result.problems.push({ ...problem, runId: verification.runId });
            if (!options.json)
              for (const problem of verification.problems)
                process.stdout.write(`FAIL ${verification.runId}${problem.seq === null ? '' : ` event ${problem.seq}`}: ${problem.code}: ${problem.message}\n`);
          }
        }
      });
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const problem of result.databaseProblems) process.stdout.write(`FAIL database: ${problem}\n`);
        const verdict = result.failed || result.databaseProblems.length ? 'FAILED' : 'OK';
        process.stdout.write(
          `${verdict}: ${result.runs} runs, ${result.events} events and ${result.blobsChecked} blobs checked; ${result.failed} runs with problems.\n`,
        );
      }
      if (result.failed || result.databaseProblems.length) process.exitCode = ExitCode.checkFailed;
    });
}
