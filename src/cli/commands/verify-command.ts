import type { Command } from 'commander';
import { createVerifyContext, type VerifyProblem, verifyLedger, verifyStore } from '../../store/index.ts';
import { type GlobalOptions, withStore } from '../command-context.ts';
import { ExitCode } from '../exit-codes.ts';
import { resolveRunIds } from '../resolve-ids.ts';

interface VerifyResult {
  runs: number;
  failed: number;
  events: number;
  blobsChecked: number;
  /** Ledger rows checked against the chains and the audit log. */
  decisionsChecked: number;
  databaseProblems: string[];
  /** `runId` null: the audit log's own chain. */
  problems: Array<VerifyProblem & { runId: string | null }>;
}

/** One line per problem: where (run, event, ledger row and field), then the code and what is wrong. */
function renderProblem(problem: VerifyProblem & { runId: string | null }): string {
  const where = [
    problem.runId ?? 'audit log',
    problem.seq === null ? '' : `event ${problem.seq}`,
    problem.decisionId === undefined ? '' : `decision ${problem.decisionId}`,
    problem.field === undefined ? '' : `field ${problem.field}`,
  ]
    .filter(Boolean)
    .join(' ');
  return `FAIL ${where}: ${problem.code}: ${problem.message}\n`;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      "Check every run's hash chain, seal and blob hashes, its row, and each decision ledger row against the event (or audit entry) that vouches for it; read-only",
    )
    .argument('[runs...]', 'only these runs (an id, a unique prefix, or a ticket, customer or other external id)')
    .action(async (typedRunIds: string[], _options: unknown, command: Command) => {
      const options = command.optsWithGlobals() as GlobalOptions;
      const result: VerifyResult = { runs: 0, failed: 0, events: 0, blobsChecked: 0, decisionsChecked: 0, databaseProblems: [], problems: [] };
      const report = (problem: VerifyProblem & { runId: string | null }) => {
        result.problems.push(problem);
        if (!options.json) process.stdout.write(renderProblem(problem));
      };
      await withStore(
        options,
        async (store) => {
          const checkable = store as { integrityCheck?: () => Promise<string[]> };
          if (checkable.integrityCheck) result.databaseProblems = await checkable.integrityCheck();
          const runIds = await resolveRunIds(store, typedRunIds);
          const context = createVerifyContext(store);
          for await (const verification of verifyStore(store, runIds.length ? runIds : undefined, context)) {
            result.runs++;
            result.events += verification.events;
            result.blobsChecked += verification.blobsChecked;
            result.decisionsChecked += verification.decisionsChecked;
            if (!verification.ok) result.failed++;
            for (const problem of verification.problems) report({ ...problem, runId: verification.runId });
          }
          // The audit chain and rows of runs the store lacks belong to no run: checked when the whole store is.
          if (runIds.length === 0) {
            const ledger = await verifyLedger(store, context.vouchers);
            result.decisionsChecked = ledger.decisions;
            for (const problem of ledger.problems) report(problem);
          }
        },
        { readonly: true },
      );
      const ledgerProblems = result.problems.filter((problem) => /^(LEDGER|CORRECTION|AUDIT)_/.test(problem.code)).length;
      const failed = result.failed > 0 || result.databaseProblems.length > 0 || result.problems.length > 0;
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const problem of result.databaseProblems) process.stdout.write(`FAIL database: ${problem}\n`);
        process.stdout.write(
          `${failed ? 'FAILED' : 'OK'}: ${result.runs} runs, ${result.events} events, ${result.blobsChecked} blobs and ${result.decisionsChecked} ledger rows checked; ${result.failed} runs with problems, ${ledgerProblems} ledger problems.\n`,
        );
      }
      if (failed) process.exitCode = ExitCode.checkFailed;
    });
}
