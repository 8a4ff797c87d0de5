import type { Command } from 'commander';
import type { RunFilter, RunSummary } from '../../store/index.ts';
import { type GlobalOptions, output, withStore } from '../command-context.ts';
import { UsageError } from '../exit-codes.ts';
import { parseIntegerOption, parseTimeOption } from '../parse-options.ts';
import { renderTable } from '../render-table.ts';

interface RunsOptions extends GlobalOptions {
  agent?: string;
  since?: string;
  until?: string;
  decision?: string;
  subject?: string;
  model?: string;
  status?: string;
  limit?: string;
  offset?: string;
  oldestFirst?: boolean;
  forks?: string;
}

const FORKS = ['include', 'exclude', 'only'] as const;

const STATUSES = ['recording', 'complete', 'failed', 'incomplete'] as const;

export function buildRunFilter(options: RunsOptions): RunFilter {
  const [decisionType, decisionValue] = (options.decision ?? '').split('=');
  if (options.status && !STATUSES.includes(options.status as (typeof STATUSES)[number]))
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}.`);
  const forks = options.forks ?? 'exclude';
  if (!FORKS.includes(forks as (typeof FORKS)[number])) throw new UsageError(`--forks must be one of ${FORKS.join(', ')}.`);
  return {
    agent: options.agent,
    since: parseTimeOption(options.since, '--since'),
    until: parseTimeOption(options.until, '--until'),
    decisionType: decisionType || undefined,
    decisionValue: decisionValue || undefined,
    subject: options.subject,
    modelServed: options.model,
    forks: forks as RunFilter['forks'],
    status: options.status as RunFilter['status'],
    limit: parseIntegerOption(options.limit, '--limit', { min: 1, max: 100_000 }) ?? 50,
    offset: parseIntegerOption(options.offset, '--offset') ?? 0,
    order: options.oldestFirst ? 'asc' : 'desc',
  };
}

/**
 * The "N matching runs" count stops here: counting every match of a broad filter on a store of
 * 100,000s of runs costs more than the page itself (10,000 matches of a decision type took 75-350
 * ms at 100,000 runs, on a loaded box), so past it the total says "1,000+".
 */
export const RUN_COUNT_BOUND = 1_000;

interface RunsPage {
  runs: RunSummary[];
  /** Matching runs, or RUN_COUNT_BOUND when there are more (then `totalIsLowerBound`). */
  total: number;
  totalIsLowerBound: boolean;
  filter: RunFilter;
  hiddenForks: number;
  hiddenForksIsLowerBound: boolean;
}

/** Counts up to the bound; one more than it says there are more. */
async function boundedCount(count: (upTo: number) => Promise<number>): Promise<{ count: number; isLowerBound: boolean }> {
  const counted = await count(RUN_COUNT_BOUND + 1);
  return counted > RUN_COUNT_BOUND ? { count: RUN_COUNT_BOUND, isLowerBound: true } : { count: counted, isLowerBound: false };
}

function renderRuns({ runs, total, totalIsLowerBound, filter, hiddenForks, hiddenForksIsLowerBound }: RunsPage): string {
  const hidden = hiddenForks
    ? `\n${hiddenForks.toLocaleString('en-US')}${hiddenForksIsLowerBound ? '+' : ''} forked run${hiddenForks === 1 ? '' : 's'} (from \`npx retrial fork\` or \`backfill --redecide run\`) not listed; --forks include lists them.`
    : '';
  if (runs.length === 0)
    return `${total === 0 ? 'No runs match. Record some with `npx retrial demo`, or loosen the filters.' : 'No runs on this page.'}${hidden}`;
  // Where forks are listed, say what each came from; a fork's decisions are counterfactual and
  // stay out of the ledger, so its DECISIONS cell says that instead of a bare dash.
  const withParents = filter.forks !== 'exclude';
  const table = renderTable(
    ['RUN', 'RECORDED AT (UTC)', 'AGENT', 'STATUS', 'EVENTS', 'MODEL SERVED', 'DECISIONS', 'TICKET', ...(withParents ? ['FORKED FROM'] : [])],
    runs.map((run) => [
      run.runId,
      new Date(run.recordedAt).toISOString().slice(0, 19).replace('T', ' '),
      run.agent,
      run.status,
      String(run.eventCount),
      run.modelsServed.join(',') || '—',
      run.decisions.map((decision) => `${decision.type}=${decision.value}`).join(' ') || (run.parentRunId ? '(fork: not in the ledger)' : '—'),
      run.externalIds.ticket ?? Object.values(run.externalIds)[0] ?? '',
      ...(withParents ? [run.parentRunId ?? '—'] : []),
    ]),
  );
  const shown = (filter.offset ?? 0) + runs.length;
  const of = totalIsLowerBound ? `${total.toLocaleString('en-US')}+ (counted up to ${total.toLocaleString('en-US')})` : String(total);
  return `${table}\n\n${runs.length} of ${of} matching runs shown${shown < total ? ` (next page: --offset ${shown})` : ''}.${hidden}`;
}

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('List recorded runs, newest first, with filters')
    .option('--agent <name>', 'only runs of this agent')
    .option('--since <time>', 'recorded at or after (ISO date or 90d, 12h)')
    .option('--until <time>', 'recorded before (ISO date or duration)')
    .option('--decision <type[=value]>', 'runs with a decision of this type (and value), e.g. account.action=close')
    .option('--subject <id>', 'runs about this subject: decision subject or any external id (ticket, customer)')
    .option('--model <version>', 'runs where this model version was served')
    .option('--status <status>', `one of ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'at most n runs (default 50)')
    .option('--offset <n>', 'skip the first n runs')
    .option('--oldest-first', 'oldest first')
    .option('--forks <which>', `forked runs: ${FORKS.join(', ')} (default exclude)`)
    .action(async (options: RunsOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as RunsOptions;
      const filter = buildRunFilter(all);
      await withStore(all, async (store) => {
        const everything = { ...filter, limit: undefined, offset: undefined };
        const [runs, total, hiddenForks] = await Promise.all([
          store.listRuns(filter),
          boundedCount((upTo) => store.countRuns(everything, { upTo })),
          filter.forks === 'exclude' ? boundedCount((upTo) => store.countRuns({ ...everything, forks: 'only' }, { upTo })) : { count: 0, isLowerBound: false },
        ]);
        const page: RunsPage = {
          runs,
          total: total.count,
          totalIsLowerBound: total.isLowerBound,
          filter,
          hiddenForks: hiddenForks.count,
          hiddenForksIsLowerBound: hiddenForks.isLowerBound,
        };
        output(all, page, renderRuns);
      });
    });
}
