import { formatDifference, formatProportion } from '../stats/index.ts';
import type { CampaignComparison } from './compare-campaign.ts';

const money = (amount: number, currency: string | null) =>
  `${currency === 'USD' || currency === null ? '$' : `${currency} `}${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Money at stake, one figure per currency: amounts in different currencies are never added. */
function moneyAtStake(comparison: CampaignComparison): string {
  const currencies = Object.entries(comparison.money.byCurrency);
  if (currencies.length === 0) return money(0, comparison.money.currency);
  return currencies.map(([currency, amount]) => money(amount, currency === '(none)' ? null : currency)).join(' + ');
}

/** The few lines people act on: flips, the noise floor, the adjusted rate, money and actions. */
export function backfillHeadline(comparison: CampaignComparison): string[] {
  const { plan, flipRate, noiseFloor, adjusted } = comparison;
  const lines = [
    `flips      candidate ${plan.candidate.model} disagrees with what shipped on ${formatProportion(flipRate)}`,
    `noise      the incumbent, re-run on the same inputs, disagrees with itself on ${formatProportion(noiseFloor)}`,
    `adjusted   flip rate minus noise floor: ${formatDifference(adjusted)}${adjusted.low > 0 ? ', more than the incumbent’s own noise' : ', within the incumbent’s own noise'}`,
    `at stake   ${moneyAtStake(comparison)} on ${comparison.flips.length} flipped decisions (${comparison.reversibility.irreversible} irreversible)`,
  ];
  if (comparison.triage)
    lines.push(
      `triage     ${
        Object.entries(comparison.triage)
          .sort((a, b) => b[1] - a[1])
          .map(([action, count]) => `${action} ${count}`)
          .join(', ') || 'no flips'
      }`,
    );
  if (comparison.review.reviewed)
    lines.push(
      `review     candidate right in ${formatProportion(comparison.review.candidateRight)} of decided verdicts (${comparison.review.reviewed} reviewed)`,
    );
  return lines;
}

/** The campaign report in Markdown: what a reader needs to decide what to do about the flips. */
export function renderBackfillReport(comparison: CampaignComparison, options: { storeLocation: string }): string {
  const { plan, progress } = comparison;
  const values = comparison.flipMatrix.values;
  const matrix = [
    `| shipped \\ candidate | ${values.join(' | ')} | total |`,
    `|---|${values.map(() => '---:').join('|')}|---:|`,
    ...values
      .filter((from) => comparison.flipMatrix.counts[from])
      .map((from) => {
        const row = comparison.flipMatrix.counts[from] ?? {};
        const cells = values.map((to) => (to === from ? `(${row[to] ?? 0})` : String(row[to] ?? 0)));
        return `| **${from}** | ${cells.join(' | ')} | ${Object.values(row).reduce((sum, count) => sum + count, 0)} |`;
      }),
  ];
  const rateTable = (title: string, rows: CampaignComparison['bySegment']) => [
    `| ${title} | flips | noise floor |`,
    '|---|---|---|',
    ...rows.map((row) => `| ${row.label} | ${formatProportion(row.flips)} | ${row.noise.trials ? formatProportion(row.noise) : 'not sampled'} |`),
  ];
  const excluded = plan.excluded.length
    ? plan.excluded.map((entry) => `- **${entry.count}** ${entry.reason}: ${entry.description} (e.g. ${entry.examples.join(', ')})`)
    : ['- nothing: every decision in the window was eligible'];
  const incomplete = progress.candidateDone < progress.items || progress.incumbentDone < progress.incumbentPlanned;
  return [
    `# Backfill ${comparison.campaignId}: ${plan.decisionType} through ${plan.candidate.model}`,
    '',
    `Decisions of type \`${plan.decisionType}\` that took effect ${date(plan.window.since)} to ${date(plan.window.until)}, re-decided on their point-in-time inputs (the exact request the model saw at the decision step) by \`${plan.candidate.provider}:${plan.candidate.model}\`. Store: \`${options.storeLocation}\`.`,
    '',
    incomplete
      ? `> **Incomplete:** ${progress.candidateDone} of ${progress.items} candidate results and ${progress.incumbentDone} of ${progress.incumbentPlanned} noise-floor results are in. Rerun \`npx retrial backfill run ${comparison.campaignId}\` to finish; figures below cover what is done.`
      : `All ${progress.items} selected decisions have a candidate result; ${progress.incumbentDone} also have an incumbent re-run.`,
    '',
    '## Headline',
    '',
    ...backfillHeadline(comparison).map((line) => `    ${line}`),
    '',
    `The noise floor is the incumbent disagreeing with its own shipped decision when asked the same thing again: a flip rate near it is mostly noise, not a difference between the models. The adjusted figure is their difference with a Newcombe 95% interval.`,
    '',
    '## Flip matrix',
    '',
    'Rows: the value that shipped. Columns: the candidate. Agreements in parentheses.',
    '',
    ...matrix,
    '',
    `## By ${plan.segmentBy}`,
    '',
    ...rateTable(plan.segmentBy, comparison.bySegment),
    '',
    '## By week (week starting, UTC)',
    '',
    ...rateTable('week', comparison.byWeek),
    '',
    '## Money at stake and reversibility',
    '',
    '| shipped → candidate | flips | amount |',
    '|---|---:|---:|',
    ...comparison.money.byDirection.map((row) => `| ${row.from} → ${row.to} | ${row.count} | ${money(row.amount, comparison.money.currency)} |`),
    '',
    `Of the ${comparison.flips.length} flipped decisions, ${comparison.reversibility.reversible} can be undone in the system they landed in and ${comparison.reversibility.irreversible} cannot.`,
    '',
    '## Triage and review',
    '',
    comparison.triage
      ? Object.entries(comparison.triage)
          .map(([action, count]) => `- ${action}: ${count}`)
          .join('\n')
      : `- not triaged yet: \`npx retrial backfill triage ${comparison.campaignId} --policy examples/triage-policy.yaml\``,
    '',
    comparison.review.reviewed
      ? `${comparison.review.reviewed} flips reviewed (${Object.entries(comparison.review.byVerdict)
          .map(([verdict, count]) => `${verdict} ${count}`)
          .join(', ')}). Candidate right in ${formatProportion(comparison.review.candidateRight)} of verdicts that decided (unsure left out).`
      : `No verdicts yet: \`npx retrial review ${comparison.campaignId}\`.`,
    '',
    '## Cost',
    '',
    `Candidate ${comparison.tokens.candidate.input} input and ${comparison.tokens.candidate.output} output tokens; incumbent ${comparison.tokens.incumbent.input} and ${comparison.tokens.incumbent.output}. Cost ${comparison.costUsd === null ? 'unknown (a model is missing from the price table)' : `$${comparison.costUsd.toFixed(4)}`}; planned estimate ${plan.estimate.requests} requests${plan.estimate.costUsd === null ? '' : `, $${plan.estimate.costUsd.toFixed(4)}`} (prices: ${plan.estimate.prices}). ${progress.failed ? `${progress.failed} requests were refused for good and are not counted.` : ''}`,
    '',
    '## What was excluded, and why',
    '',
    `Population: ${plan.population} decisions; eligible ${plan.eligible}; selected ${plan.selected}${plan.sample ? ` (a ${plan.sample.stratifyBy ? `sample stratified by ${plan.sample.stratifyBy}` : 'simple random sample'} of ${plan.sample.size}, seed ${plan.sample.seed})` : ''}.`,
    '',
    ...excluded,
    '',
    '## Method and limits',
    '',
    plan.redecide === 'run'
      ? `- Each decision is re-decided by forking its whole run from the first model step with the agent's own code (\`${plan.agentModule}\`): read tools are answered from the recorded tape, write tools are stubbed, and the forked runs stay in the store with their lineage.`
      : '- Each decision is re-decided from the exact recorded request of the step it was based on, with only the model name changed; tools are not called and nothing is written anywhere.',
    "- The candidate's answer is mapped to a decision value by the tool it chooses, with the mapping learned from the shipped decisions: " +
      Object.entries(plan.mapping)
        .map(([tool, value]) => `${tool} → ${value}`)
        .join(', ') +
      '; any other answer counts as `none`.',
    plan.redecide === 'run'
      ? '- A read the candidate makes that the tape does not have fails in the fork (reads are frozen), as it would be unknowable now.'
      : '- Each decision is judged on its decision step alone, with the earlier steps as the incumbent took them; `--redecide run` re-runs the whole path.',
    '- Intervals are Wilson 95% for rates, Newcombe for the difference; with a sample, rates are of the sample.',
    '',
    '## Commands',
    '',
    '```',
    `npx retrial backfill report ${comparison.campaignId}`,
    `npx retrial backfill triage ${comparison.campaignId} --policy examples/triage-policy.yaml`,
    `npx retrial review ${comparison.campaignId}`,
    `npx retrial remediate plan ${comparison.campaignId} -o corrections.csv`,
    `npx retrial audit --campaign ${comparison.campaignId} --verify`,
    '```',
    '',
  ].join('\n');
}
