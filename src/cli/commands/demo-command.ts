import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Command } from 'commander';
// The demo and simulator (and the SDKs they load) are imported when a command needs them, not at start-up.
import type { DemoSummary } from '../../demo/index.ts';
import { loadOrCreateRedactionSalt } from '../../record/index.ts';
import { formatDifference, formatProportion } from '../../stats/index.ts';
import { isPostgresLocation, openStore, resolveStoreLocation } from '../../store/index.ts';
import type { GlobalOptions } from '../command-context.ts';
import { displayPath } from '../display-path.ts';
import { ExitCode, UsageError } from '../exit-codes.ts';
import { RETRIAL_COMMAND } from '../invocation.ts';
import { demoAgentPath } from '../load-agent-module.ts';
import { parseIntegerOption } from '../parse-options.ts';
import { createProgress } from '../progress.ts';
import { formatBytes, renderTable } from '../render-table.ts';

interface DemoCommandOptions extends GlobalOptions {
  runs: string;
  concurrency: string;
  keep?: boolean;
}

const FACTOR_NAMES: Record<string, string> = {
  model: 'the model behind the alias',
  prompt: 'the prompt and config',
  toolData: 'the data the tools returned',
  clock: 'the clock',
};

function explainLines(summary: DemoSummary): string[] {
  const { explain } = summary.investigation;
  const rate = (configuration: string) => explain.counterfactuals.find((entry) => entry.configuration === configuration)?.estimate;
  const now = rate('current');
  const recorded = rate('recorded');
  return [
    `  re-run the message now, as the postmortem did: close_account ${now ? formatProportion(now) : '—'}, which is why it "could not be reproduced"`,
    `  explain: as recorded ${recorded ? formatProportion(recorded) : '—'}; switched one at a time to now, what changes the outcome:`,
    ...(explain.explainingFactors.length
      ? explain.explainingFactors.map(
          (factor) =>
            `           - ${FACTOR_NAMES[factor]}: ${explain.factors.find((entry) => entry.factor === factor)?.recorded} then, ${explain.factors.find((entry) => entry.factor === factor)?.current} now`,
        )
      : ['           - no single factor']),
  ];
}

function backfillLines({ backfill }: DemoSummary): string[] {
  const { comparison } = backfill;
  const { plan } = comparison;
  const excluded = plan.excluded.map((entry) => `${entry.count} ${entry.reason}`).join(', ');
  const money = comparison.money.atStake.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return [
    `The backfill problem: the alias now serves ${plan.candidate.model}. What about the 90 days of refund decisions already shipped?`,
    `  backfill  ${plan.population} refund decisions; ${plan.selected} re-decided on their recorded inputs${excluded ? ` (excluded: ${excluded})` : ''}, in ${(backfill.durationMs / 1000).toFixed(1)} s`,
    `  flips     the candidate disagrees with what shipped on ${formatProportion(comparison.flipRate)}`,
    `  noise     the incumbent, re-run on the same inputs, disagrees with itself on ${formatProportion(comparison.noiseFloor)}`,
    `  adjusted  ${formatDifference(comparison.adjusted)}: ${comparison.adjusted.low > 0 ? 'more than the incumbent’s own noise, so a real difference between the models' : 'within the incumbent’s own noise'}`,
    `  at stake  $${money} on ${comparison.flipRate.successes} flipped decisions (${comparison.reversibility.irreversible} irreversible)`,
    `  triage    ${Object.entries(backfill.triage)
      .sort((a, b) => b[1] - a[1])
      .map(([action, count]) => `${action} ${count}`)
      .join(', ')} (policy examples/triage-policy.yaml)`,
    `  report    ${displayPath(backfill.reportPath)}`,
  ];
}

/** The one line a demo with failed runs ends on (it then exits 1). */
export function failureLine(failed: number, runs: number, first: { runId: string; message: string }): string {
  return `retrial demo: ${failed} of ${runs} runs failed to record; the first, ${first.runId}: ${first.message.replace(/\s+/g, ' ').trim()}`;
}

/** A word the shell passes through unchanged, else the word in single quotes. */
function shellWord(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The commands the demo suggests after it, each runnable as printed from the directory it ran in:
 * `db`, the store named by `--db` (a PostgreSQL URL without its password), is named in each, since
 * without it they would open the default store.
 */
export function nextSteps({ runId, decisionStep, campaignId, db }: { runId: string; decisionStep: number | null; campaignId: string; db?: string }): string[] {
  const run = RETRIAL_COMMAND;
  const at = db === undefined ? '' : ` --db ${shellWord(db)}`;
  return [
    `  ${run} show ${runId}${at}`,
    `  ${run} show ${runId} --step ${decisionStep ?? 0}${at}     # exactly what the model saw and answered`,
    `  ${run} replay ${runId} --agent ${demoAgentPath()}${at}     # re-run the agent's code from the tape`,
    `  ${run} explain ${runId} --agent ${demoAgentPath()}${at}    # why it works when you try it now`,
    `  ${run} report ${runId} --agent ${demoAgentPath()}${at}     # the repro report for the postmortem`,
    `  ${run} decisions --type account.action --value close${at}`,
    `  ${run} review ${campaignId}${at}     # walk the flips triage sent to review`,
    `  ${run} remediate plan ${campaignId} -o corrections.csv${at}`,
    `  ${run} audit --campaign ${campaignId} --verify${at}`,
    `  ${run} verify${at}`,
  ];
}

function renderSummary(summary: DemoSummary, location: string, db: string | undefined): string {
  const { stats, incident } = summary;
  const decisions = renderTable(
    ['DECISION TYPE', 'VALUE', 'COUNT'],
    stats.decisions.map((row) => [row.type, row.value, String(row.count)]),
  );
  return [
    `Recorded ${summary.runs} runs of support-agent over ${summary.window.from.slice(0, 10)} … ${summary.window.to.slice(0, 10)} (simulated clock) in ${(summary.elapsedMs / 1000).toFixed(1)} s${summary.failedRuns ? `; ${summary.failedRuns} runs failed` : ''}.`,
    `Store ${location}: ${stats.runs} runs, ${stats.events} events, ${stats.blobs} blobs; ${formatBytes(stats.fileBytes ?? 0)} on disk (event and blob content ${formatBytes(stats.eventBytesRaw + stats.blobBytesRaw)} stored as ${formatBytes(stats.contentBytesStored)}).`,
    '',
    decisions,
    '',
    `The incident: ticket ${incident.ticketId} at ${incident.at.slice(0, 16).replace('T', ' ')} UTC. A customer asked for a few more days to pay and qualified for a 30-day grace period;`,
    `the agent's decision was account.action=${incident.decision ?? 'none'} (model step ${incident.decisionStep ?? '—'}). Run ${incident.runId}.`,
    '',
    'Investigating it, as the on-call engineer would:',
    `  replay   ${summary.investigation.replay.ok ? `REPRODUCED from the tape with the agent's own code: ${summary.investigation.replay.served} recorded events served, close_account called again, nothing executed.` : `DIVERGED: ${summary.investigation.replay.divergences[0]?.code}`}`,
    ...(summary.investigation.resample
      ? [`  resample the decision step 200 times at temperature 0: close_account ${formatProportion(summary.investigation.resample.hypothesis.estimate)}`]
      : []),
    ...explainLines(summary),
    '',
    ...backfillLines(summary),
    '',
    'Next:',
    ...nextSteps({ runId: incident.runId, decisionStep: incident.decisionStep, campaignId: summary.backfill.campaignId, db }),
  ].join('\n');
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Start the model simulator, record 90 days of a customer-support agent, investigate the incident, and backfill its refund decisions')
    .option('--runs <n>', 'number of runs (tickets) to record', '2000')
    .option('--concurrency <n>', 'runs in flight at once', '16')
    .option('--keep', 'add to an existing demo store instead of starting it afresh')
    .action(async (options: DemoCommandOptions, command: Command) => {
      const all = { ...command.optsWithGlobals(), ...options } as DemoCommandOptions;
      const runs = parseIntegerOption(all.runs, '--runs', { min: 1, max: 1_000_000 }) ?? 2000;
      const concurrency = parseIntegerOption(all.concurrency, '--concurrency', { min: 1, max: 512 }) ?? 16;
      const location = resolveStoreLocation(all.db);
      const postgres = isPostgresLocation(location);
      if (postgres && !all.keep) {
        // A team's database is never emptied by the demo: it records only into one with no runs.
        const existing = await openStore(location);
        const count = await existing.countRuns({}).finally(() => existing.close());
        if (count > 0)
          throw new UsageError(
            `${existing.location} already holds ${count} runs; the demo does not delete runs from a PostgreSQL store. Pass an empty database, or --keep to add to it.`,
          );
      } else if (!all.keep && existsSync(location)) {
        const existing = await openStore(location);
        const foreign =
          (await existing.listRuns({ limit: 1 })).length > 0 && (await existing.countRuns({})) !== (await existing.countRuns({ agent: 'support-agent' }));
        await existing.close();
        if (foreign)
          throw new UsageError(`${location} holds runs of other agents; the demo will not replace it. Pass --db <new path>, or --keep to add to it.`);
        for (const suffix of ['', '-wal', '-shm']) await rm(`${location}${suffix}`, { force: true });
      }
      // A PostgreSQL store has no salt file: RETRIAL_REDACTION_SALT, or a one-line error saying to set it.
      const salt = await loadOrCreateRedactionSalt(location);
      const store = await openStore(location);
      const shownLocation = postgres ? store.location : location;
      const progress = createProgress('Recording', 'runs', { json: all.json });
      try {
        progress.update(0, runs);
        const { runDemo } = await import('../../demo/index.ts');
        const summary = await runDemo({
          store,
          runs,
          concurrency,
          redactionSalt: salt,
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.stop();
        if (all.json) process.stdout.write(`${JSON.stringify({ location: shownLocation, ...summary }, null, 2)}\n`);
        // Named by --db: the Next lines name it too (RETRIAL_DB still holds in the shell that set it).
        else process.stdout.write(`${renderSummary(summary, shownLocation, all.db ? shownLocation : undefined)}\n`);
        if (summary.firstFailure) {
          process.stderr.write(`${failureLine(summary.failedRuns, summary.runs, summary.firstFailure)}\n`);
          process.exitCode = ExitCode.checkFailed;
        }
      } finally {
        progress.stop();
        await store.close();
      }
    });
}
