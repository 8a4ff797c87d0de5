import type { Command } from 'commander';
import { formatAuditDetails } from '../audit-details.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { renderTable } from '../render-table.ts';
import { resolveCampaignId } from '../resolve-ids.ts';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('List the append-only audit log (campaigns, triage, verdicts, corrections); --verify checks its hash chain')
    .option('--campaign <id>', 'only entries of this campaign')
    .option('--verify', 'check the whole chain; exit 1 when an entry was changed, removed or inserted')
    .action(async (options: { campaign?: string; verify?: boolean }, command: Command) => {
      const all = command.optsWithGlobals() as GlobalOptions;
      const { CampaignNotFoundError, verifyAuditChain } = await import('../../backfill/index.ts');
      await withStore(all, async (store) => {
        const campaign = options.campaign === undefined ? undefined : await resolveCampaignId(store, options.campaign);
        if (campaign && !(await store.campaigns.get(campaign)))
          throw new CampaignNotFoundError(
            campaign,
            (await store.campaigns.list()).map((known) => known.campaignId),
            store.location,
          );
        const entries = await store.campaigns.audit();
        const problems = options.verify ? verifyAuditChain(entries) : [];
        const shown = campaign ? entries.filter((entry) => entry.campaignId === campaign) : entries;
        const head = entries.at(-1);
        output(
          all,
          { entries: shown, verified: options.verify ? problems.length === 0 : null, problems, head: head ? { seq: head.seq, hash: head.hash } : null },
          () =>
            [
              shown.length
                ? renderTable(
                    ['SEQ', 'AT', 'ACTOR', 'ACTION', 'CAMPAIGN', 'DETAILS'],
                    shown.map((entry) => [
                      String(entry.seq),
                      new Date(entry.at).toISOString().slice(0, 19),
                      entry.actor,
                      entry.action,
                      entry.campaignId ?? '',
                      formatAuditDetails(entry.details),
                    ]),
                  )
                : campaign
                  ? `No audit entries for campaign ${campaign}.`
                  : 'The audit log is empty.',
              options.verify
                ? problems.length
                  ? `\nAUDIT CHAIN BROKEN:\n${problems.map((problem) => `  entry ${problem.seq}: ${problem.problem}`).join('\n')}`
                  : `\nAudit chain verified: ${entries.length} entries, each hash matches its entry and the one before.${
                      entries.length
                        ? `\nHead: entry ${entries.at(-1)?.seq} ${entries.at(-1)?.hash}. A chain cannot show entries cut from its end: keep the head elsewhere and compare.`
                        : ''
                    }`
                : '',
            ]
              .filter(Boolean)
              .join('\n'),
        );
        if (problems.length) process.exitCode = 1;
      });
    });
}
