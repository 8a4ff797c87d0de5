import type { Command } from 'commander';
import type { DecisionFilter, DecisionRecord } from '../../store/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { parseIntegerOption, parseTimeOption } from '../parse-options.ts';
import { renderTable } from '../render-table.ts';
import { resolveRunId } from '../resolve-ids.ts';

interface DecisionsOptions extends GlobalOptions {
  type?: string;
  value?: string;
  subject?: string;
  model?: string;
  run?: string;
  since?: string;
  until?: string;
  limit?: string;
  offset?: string;
  includeSuperseded?: boolean;
}

function renderDecisions({ decisions, filter }: { decisions: DecisionRecord[]; filter: DecisionFilter }): string {
  if (decisions.length === 0) return 'No decisions match. Record some with `npx retrial demo`, or loosen the filters.';
  const table = renderTable(
    ['EFFECTIVE AT (UTC)', 'TYPE', 'VALUE', 'SUBJECT', 'AMOUNT', 'REVERSIBLE', 'MODEL SERVED', 'RUN:STEP'],
    decisions.map((decision) => [
      new Date(decision.effectiveAt).toISOString().slice(0, 19).replace('T', ' '),
      decision.type,
      decision.value,
      decision.subject,
      decision.amount === null ? '—' : `${decision.amount.toFixed(2)} ${decision.currency ?? ''}`.trim(),
      decision.reversible ? 'yes' : 'no',
      decision.modelServed ?? '—',
      // A correction shows what it replaced; an original shows nothing extra.
      decision.supersedes ? `correction of ${decision.supersedes}` : `${decision.runId}:${decision.seq}`,
    ]),
  );
  const next = (filter.offset ?? 0) + decisions.length;
  return `${table}\n\n${decisions.length} decisions shown${decisions.length === filter.limit ? ` (next page: --offset ${next})` : ''}.`;
}

export function registerDecisionsCommand(program: Command): void {
  program
    .command('decisions')
    .description('List the decision ledger: durable decisions agents shipped')
    .option('--type <type>', 'decision type, e.g. refund.category')
    .option('--value <value>', 'decided value, e.g. approve')
    .option('--subject <id>', 'subject, e.g. a customer id')
    .option('--model <version>', 'model version served on the deciding call')
    .option('--run <run>', 'decisions of one run: its id, a unique prefix, or its ticket or customer id')
    .option('--since <time>', 'effective at or after (ISO date or 90d)')
    .option('--until <time>', 'effective before')
    .option('--include-superseded', 'also list decisions a correction superseded')
    .option('--limit <n>', 'at most n (default 50)')
    .option('--offset <n>', 'skip the first n')
    .action(async (options: DecisionsOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as DecisionsOptions;
      const filter: DecisionFilter = {
        type: all.type,
        value: all.value,
        subject: all.subject,
        modelServed: all.model,
        runId: all.run,
        since: parseTimeOption(all.since, '--since'),
        until: parseTimeOption(all.until, '--until'),
        includeSuperseded: all.includeSuperseded ?? false,
        limit: parseIntegerOption(all.limit, '--limit', { min: 1, max: 1_000_000 }) ?? 50,
        offset: parseIntegerOption(all.offset, '--offset') ?? 0,
      };
      await withStore(all, async (store) => {
        // A mistyped --run would list nothing; a prefix or ticket id names the run as everywhere else.
        if (all.run !== undefined) filter.runId = await resolveRunId(store, all.run);
        output(all, { decisions: await store.listDecisions(filter), filter }, renderDecisions);
      });
    });
}
