import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { Correction, CorrectionHandler, RemediationOutcome, RemediationPlanEntry } from '../../backfill/index.ts';
import { RetrialError } from '../../tape/index.ts';
import { actorOf } from '../actor.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { parseDuration } from '../parse-options.ts';
import { renderTable } from '../render-table.ts';
import { resolveCampaignId } from '../resolve-ids.ts';
import { prepareToImport } from '../typescript-loader.ts';
import { writeUserFile } from '../user-files.ts';

/** Imports the user's handler module: its default export (or `handle`) is called once per correction. */
async function loadHandler(path: string): Promise<CorrectionHandler> {
  if (!existsSync(resolve(path))) throw new RetrialError({ code: 'FILE_NOT_FOUND', message: `--handler ${path}: no such file.` });
  // A .mts handler (as the README shows) needs tsx's loader when the CLI runs from dist/.
  await prepareToImport(resolve(path));
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    const message = (error as Error).message;
    const moduleHint = /ES Module|Cannot use import statement|Unexpected token 'export'/.test(message)
      ? ' A TypeScript or JavaScript handler outside an ESM package must be named .mts or .mjs (or sit in a package with "type": "module").'
      : '';
    throw new RetrialError({ code: 'USAGE', message: `--handler ${path} could not be loaded: ${message.split('\n')[0]}.${moduleHint}`, cause: error });
  }
  const handler = module.default ?? module.handle;
  if (typeof handler !== 'function')
    throw new RetrialError({
      code: 'USAGE',
      message: `--handler ${path} must export a function, as \`export default async function (correction) { ... }\`; it receives each correction with its idempotencyKey.`,
    });
  return handler as CorrectionHandler;
}

/**
 * Wraps the handler so that if it ends the process (process.exit, an uncaught error in a callback)
 * the user learns which correction it was at and what the next apply does, instead of a bare exit.
 */
function reportExitDuringHandler(handler: CorrectionHandler, path: string): { handler: CorrectionHandler; dispose: () => void } {
  let current: Correction | undefined;
  const onExit = (code: number) => {
    if (current === undefined) return;
    process.stderr.write(
      `retrial: the handler ${path} ended the process (exit status ${code}) while applying ${current.idempotencyKey} (decision ${current.decisionId}); whether that correction was made is unknown. Run apply again: it takes over this process's claim and retries it with the same idempotency key.\n`,
    );
  };
  process.on('exit', onExit);
  return {
    handler: async (correction) => {
      current = correction;
      try {
        return await handler(correction);
      } finally {
        current = undefined;
      }
    },
    dispose: () => process.off('exit', onExit),
  };
}

function renderApply(outcome: RemediationOutcome): string {
  return [
    `Applied ${outcome.applied} corrections; ${outcome.alreadyApplied} were already applied; ${outcome.failed} failed.`,
    ...(outcome.takenOver ?? []).map(
      (entry) => `  ${entry.idempotencyKey}: taken over from process ${entry.from.pid} on ${entry.from.host}, which is gone (recorded in the audit log).`,
    ),
    ...outcome.failures.map((failure) => `  ${failure.idempotencyKey}: ${failure.error}`),
    outcome.failed ? `Fix the cause and rerun: applied corrections are not repeated, failed ones are retried.` : '',
    outcome.claimedElsewhere
      ? `${outcome.claimedElsewhere} left alone: another apply that is still running (or runs on another host) holds them; run apply again once it has finished. A claim of a process that is gone is taken over on this host at once, and any claim lapses after 10 minutes.`
      : '',
    ...(outcome.excluded.length
      ? [
          `${outcome.excluded.length} not applied: the hash chain does not vouch for their decision (\`npx retrial verify\` names what changed):`,
          ...outcome.excluded.map((excluded) => `  ${excluded.decisionId}: ${excluded.reason}`),
        ]
      : []),
  ]
    .filter(Boolean)
    .join('\n');
}

function renderEntries(entries: RemediationPlanEntry[]): string {
  if (!entries.length) return 'No corrections: no flip is triaged `correct` or reviewed candidate-right.';
  return renderTable(
    ['KEY', 'DECISION', 'FROM', 'TO', 'AMOUNT', 'STATUS', 'WHY'],
    entries.map((entry) => [
      entry.idempotencyKey,
      entry.decisionId,
      entry.from,
      entry.to,
      entry.amount === null ? '' : entry.amount.toFixed(2),
      entry.status,
      entry.reason,
    ]),
  );
}

export function registerRemediateCommand(program: Command): void {
  const remediate = program.command('remediate').description('Plan and apply corrections of flipped decisions, idempotently, with an audit trail');

  remediate
    .command('plan')
    .description('List every correction (flips triaged `correct`, or reviewed candidate-right) with its idempotency key')
    .argument('<campaign>', 'campaign id')
    .option('-o, --out <file>', 'write the plan as CSV (.csv) or JSON lines (.jsonl)')
    .option('--actor <name>', 'who is planning, for the audit log (default $USER)')
    .action(async (typedCampaignId: string, options: { out?: string; actor?: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      await withStore(all, async (store) => {
        const campaignId = await resolveCampaignId(store, typedCampaignId);
        const { planRemediation, remediationCsv, remediationJsonl } = await import('../../backfill/index.ts');
        const entries = await planRemediation({ store, campaignId, actor: actorOf(options), now: Date.now() });
        if (options.out) await writeUserFile(options.out, options.out.endsWith('.jsonl') ? remediationJsonl(entries) : remediationCsv(entries), '-o');
        output(all, entries, () =>
          [
            renderEntries(entries),
            options.out ? `\nWrote ${entries.length} corrections to ${options.out}.` : '',
            entries.some((entry) => entry.status === 'pending' || entry.status === 'failed')
              ? `Next: ${RETRIAL_COMMAND} remediate apply ${campaignId} --handler ./handler.mts`
              : entries.length
                ? 'Nothing left to apply: every correction is applied or cancelled.'
                : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
      });
    });

  remediate
    .command('apply')
    .description('Call the handler once per correction not yet applied; record the superseding decision in the ledger. Safe to rerun')
    .argument('<campaign>', 'campaign id')
    .requiredOption('--handler <module>', 'an ES module (.mts, .mjs, or .ts/.js in a "type": "module" package) whose default export makes one correction')
    .option('--actor <name>', 'who is applying, for the audit log (default $USER)')
    .option('--handler-timeout <duration>', 'how long one handler call may take before it is marked failed and left for a retry (60s, 2m, ...)', '60s')
    .action(async (typedCampaignId: string, options: { handler: string; actor?: string; handlerTimeout: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const handlerTimeoutMs = parseDuration(options.handlerTimeout, '--handler-timeout');
      const watched = reportExitDuringHandler(await loadHandler(options.handler), options.handler);
      let timedOut = false;
      try {
        await withStore(all, async (store) => {
          const campaignId = await resolveCampaignId(store, typedCampaignId);
          const { applyRemediation } = await import('../../backfill/index.ts');
          const outcome = await applyRemediation({
            store,
            campaignId,
            handler: watched.handler,
            actor: actorOf(options),
            now: Date.now,
            handlerTimeoutMs,
          });
          timedOut = outcome.failures.some((failure) => failure.timedOut);
          output(all, outcome, renderApply);
          if (outcome.failed || outcome.excluded.length) process.exitCode = 1;
        });
      } finally {
        watched.dispose();
      }
      // A handler that timed out may still hold timers or sockets; they must not keep the command from ending.
      if (timedOut) setImmediate(() => process.exit());
    });
}
