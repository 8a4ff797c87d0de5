import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { CorrectionHandler, RemediationPlanEntry } from '../../backfill/index.ts';
import { RetrialError } from '../../tape/index.ts';
import { actorOf } from '../actor.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { renderTable } from '../render-table.ts';

/** Imports the user's handler module: its default export (or `handle`) is called once per correction. */
async function loadHandler(path: string): Promise<CorrectionHandler> {
  if (!existsSync(resolve(path))) throw new RetrialError({ code: 'FILE_NOT_FOUND', message: `--handler ${path}: no such file.` });
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
    .action(async (campaignId: string, options: { out?: string; actor?: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      await withStore(all, async (store) => {
        const { planRemediation, remediationCsv, remediationJsonl } = await import('../../backfill/index.ts');
        const entries = await planRemediation({ store, campaignId, actor: actorOf(options), now: Date.now() });
        if (options.out) await writeFile(options.out, options.out.endsWith('.jsonl') ? remediationJsonl(entries) : remediationCsv(entries));
        output(all, entries, () =>
          [
            renderEntries(entries),
            options.out ? `\nWrote ${entries.length} corrections to ${options.out}.` : '',
            entries.some((entry) => entry.status === 'pending' || entry.status === 'failed')
              ? `Next: retrial remediate apply ${campaignId} --handler ./handler.mts`
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
    .action(async (campaignId: string, options: { handler: string; actor?: string }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const handler = await loadHandler(options.handler);
      await withStore(all, async (store) => {
        const { applyRemediation } = await import('../../backfill/index.ts');
        const outcome = await applyRemediation({ store, campaignId, handler, actor: actorOf(options), now: Date.now });
        output(all, outcome, () =>
          [
            `Applied ${outcome.applied} corrections; ${outcome.alreadyApplied} were already applied; ${outcome.failed} failed.`,
            ...outcome.failures.map((failure) => `  ${failure.idempotencyKey}: ${failure.error}`),
            outcome.failed ? `Fix the cause and rerun: applied corrections are not repeated, failed ones are retried.` : '',
            outcome.claimedElsewhere
              ? `${outcome.claimedElsewhere} left alone: another apply holds them right now and will apply them; if it fails or dies, run apply again (its claims lapse after 10 minutes).`
              : '',
            ...(outcome.excluded.length
              ? [
                  `${outcome.excluded.length} not applied: the hash chain does not vouch for their decision (\`retrial verify\` names what changed):`,
                  ...outcome.excluded.map((excluded) => `  ${excluded.decisionId}: ${excluded.reason}`),
                ]
              : []),
          ]
            .filter(Boolean)
            .join('\n'),
        );
        if (outcome.failed || outcome.excluded.length) process.exitCode = 1;
      });
    });
}
