import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../cli/run-cli.ts';

/**
 * The backfill workflow end to end, as a person runs it: the real `retrial` executable on a real
 * SQLite file recorded by `retrial demo`, from `backfill plan` to `audit --verify`. The population is
 * the demo's refund.category decisions; the candidate is the simulator's newer dated version, which
 * the CLI runs in-process for `sim:` targets.
 */

const CANDIDATE = 'sim:support-sim-2026-04-01';
const directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-cli-'));
const db = join(directory, 'demo.db');

interface ExcludedEntry {
  reason: string;
  description: string;
  count: number;
  examples: string[];
}
interface Plan {
  decisionType: string;
  candidate: { provider: string; model: string };
  population: number;
  eligible: number;
  selected: number;
  noiseFloor: number;
  excluded: ExcludedEntry[];
  estimate: { requests: number };
}
interface Proportion {
  successes: number;
  trials: number;
  rate: number;
  low: number;
  high: number;
}
interface ReportFlip {
  itemId: string;
  from: string;
  to: string;
  amount: number | null;
  subject: string;
}
interface Report {
  campaignId: string;
  progress: { items: number; candidateDone: number; incumbentDone: number; incumbentPlanned: number; failed: number };
  flipMatrix: { values: string[]; counts: Record<string, Record<string, number>> };
  flipRate: Proportion;
  noiseFloor: Proportion;
  adjusted: { difference: number; low: number; high: number };
  money: { atStake: number; byDirection: Array<{ from: string; to: string; count: number; amount: number }> };
  flips: ReportFlip[];
  markdownPath: string;
  jsonPath: string;
}
interface WaitingFlip {
  itemId: string;
  from: string;
  to: string;
  amount: number | null;
  subject: string;
}
interface Queue {
  waiting: WaitingFlip[];
  reviewed: number;
  triaged: boolean;
}
interface Correction {
  idempotencyKey: string;
  type: string;
  decisionId: string;
  from: string;
  to: string;
  reason: string;
  status: string;
}
interface Decision {
  decisionId: string;
  value: string;
  supersedes: string | null;
  attributes: Record<string, string>;
}
interface AuditEntry {
  seq: number;
  actor: string;
  action: string;
  campaignId: string | null;
  details: Record<string, unknown>;
}

/** Runs `retrial <args> --db <the demo store>`. */
const cli = (args: string[], options: { env?: Record<string, string> } = {}) => runCli([...args, '--db', db], options);

/** Runs with --json, expects exit 0, and parses stdout. */
async function cliJson<T>(args: string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Reads the store directly, as a second opinion on what the CLI says. */
function query<T>(sql: string, ...parameters: unknown[]): T[] {
  const database = new Database(db, { fileMustExist: true });
  try {
    return database.prepare(sql).all(...parameters) as T[];
  } finally {
    database.close();
  }
}

/** The error line of a failed command: exactly one line on stderr. */
function oneLineError(result: CliResult): string {
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0] as string;
}

/** Runs `retrial <args>` with stdin connected: `answer(stderrSoFar, stdin)` is called on every stderr chunk. */
function runInteractive(args: string[], answer: (stderr: string, stdin: NodeJS.WritableStream) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'retrial.js'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdin.on('error', () => {});
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      answer(stderr, child.stdin);
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
    answer('', child.stdin);
  });
}

let campaignId: string;
let plan: Plan;
let report: Report;
let reportText: CliResult;
let reportMarkdown: string;
/** The flip that stays triaged `correct`, and the two flips reviewers find the candidate right on. */
let corrected: ReportFlip;
let reviewedByFlag: WaitingFlip;
let reviewedInteractively: WaitingFlip;

beforeAll(async () => {
  const result = await runCli(['demo', '--runs', '300', '--db', db, '--json']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(JSON.parse(result.stdout).runs).toBe(300);
}, 180_000);

describe('retrial backfill, end to end through the CLI', { timeout: 300_000 }, () => {
  it('plan selects the population, names every exclusion and why, estimates, and creates a campaign', async () => {
    const [planned, text] = await Promise.all([
      cliJson<{ campaignId: string; plan: Plan }>(['backfill', 'plan', '--type', 'refund.category', '--since', '400d', '--candidate', CANDIDATE]),
      cli(['backfill', 'plan', '--type', 'refund.category', '--since', '400d', '--candidate', CANDIDATE]),
    ]);
    campaignId = planned.campaignId;
    plan = planned.plan;
    expect(campaignId).toMatch(/^bf_[a-z0-9]+$/);
    expect(plan.decisionType).toBe('refund.category');
    expect(plan.candidate).toEqual({ provider: 'sim', model: 'support-sim-2026-04-01' });
    expect(plan.population).toBeGreaterThan(100);
    // Every decision in the window is either eligible or excluded for a named reason.
    expect(plan.excluded.length).toBeGreaterThan(0);
    expect(plan.eligible + plan.excluded.reduce((sum, entry) => sum + entry.count, 0)).toBe(plan.population);
    for (const entry of plan.excluded) {
      expect(entry.count).toBeGreaterThan(0);
      expect(entry.description.length).toBeGreaterThan(10);
      expect(entry.examples.length).toBe(Math.min(3, entry.count));
    }
    expect(plan.selected).toBe(plan.eligible);
    // The noise floor is on: the incumbent re-decides every selected decision (fewer than 500).
    expect(plan.noiseFloor).toBe(plan.selected);
    expect(plan.estimate.requests).toBe(plan.selected * 2);

    // The store holds the selected items, each with both arms.
    const items = query<{ arms: string }>('SELECT arms FROM campaign_items WHERE campaign_id = ?', campaignId);
    expect(items).toHaveLength(plan.selected);
    expect(items.every((item) => JSON.parse(item.arms).length === 2)).toBe(true);

    expect(text.status, text.stderr).toBe(0);
    const textId = /^Campaign (bf_[a-z0-9]+): refund\.category decisions effective/m.exec(text.stdout)?.[1];
    expect(textId).toBeDefined();
    expect(textId).not.toBe(campaignId);
    expect(text.stdout).toContain(`Population ${plan.population}; eligible ${plan.eligible}; selected ${plan.selected}`);
    expect(text.stdout).toMatch(/^EXCLUDED\s+COUNT\s+E\.G\.\s+WHY$/m);
    for (const entry of plan.excluded)
      expect(text.stdout).toMatch(
        new RegExp(`^${escapeRegExp(entry.reason)}\\s+${entry.count}\\s+${escapeRegExp(entry.examples[0] ?? '')}\\s+${escapeRegExp(entry.description)}$`, 'm'),
      );
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`Next: npx retrial backfill run ${textId}`);

    const listed = await cliJson<Array<{ campaignId: string }>>(['backfill', 'list']);
    expect(listed.map((campaign) => campaign.campaignId)).toEqual(expect.arrayContaining([campaignId, textId]));
  });

  it('run re-decides every selected decision once; a rerun writes nothing new and says so', async () => {
    const total = plan.selected * 2;
    const run = await cli(['backfill', 'run', campaignId]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Campaign ${campaignId}: ${total} of ${total} results in (${total} new in this run`);
    expect(run.stdout).toContain(`Next: npx retrial backfill report ${campaignId}`);
    const rows = query<{ arm: string; n: number }>(
      'SELECT arm, COUNT(*) AS n FROM campaign_results WHERE campaign_id = ? GROUP BY arm ORDER BY arm',
      campaignId,
    );
    expect(rows).toEqual([
      { arm: 'candidate', n: plan.selected },
      { arm: 'incumbent', n: plan.selected },
    ]);

    const [again, text] = await Promise.all([
      cliJson<{ total: number; alreadyDone: number; written: number; pending: number }>(['backfill', 'run', campaignId]),
      cli(['backfill', 'run', campaignId]),
    ]);
    expect(again).toMatchObject({ total, alreadyDone: total, written: 0, pending: 0 });
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`${total} of ${total} results in (0 new in this run`);
    expect(text.stdout).toContain(`${total} were already done`);
    expect(query<{ n: number }>('SELECT COUNT(*) AS n FROM campaign_results WHERE campaign_id = ?', campaignId)[0]?.n).toBe(total);
  });

  it('report gives the flip rate, noise floor, adjusted rate and money, and writes Markdown and JSON where it says', async () => {
    const out = join(directory, 'elsewhere', 'campaign-report.md');
    let written: { markdownPath: string; jsonPath: string };
    [report, reportText, written] = await Promise.all([
      cliJson<Report>(['backfill', 'report', campaignId]),
      cli(['backfill', 'report', campaignId]),
      cliJson<{ markdownPath: string; jsonPath: string }>(['backfill', 'report', campaignId, '-o', out]),
    ]);
    expect(report.campaignId).toBe(campaignId);
    expect(report.progress).toEqual({
      items: plan.selected,
      candidateDone: plan.selected,
      incumbentDone: plan.selected,
      incumbentPlanned: plan.selected,
      failed: 0,
    });
    // The flips agree with the results table: candidate value against the value that shipped.
    const results = query<{ arm: string; result_json: string; item_json: string }>(
      'SELECT r.arm, r.result_json, i.item_json FROM campaign_results r JOIN campaign_items i USING (campaign_id, item_id) WHERE r.campaign_id = ?',
      campaignId,
    ).map((row) => ({ arm: row.arm, value: JSON.parse(row.result_json).value as string, shipped: JSON.parse(row.item_json).value as string }));
    const moved = (arm: string) => results.filter((row) => row.arm === arm && row.value !== row.shipped).length;
    expect(report.flips.length).toBe(moved('candidate'));
    expect(report.flipRate).toMatchObject({ successes: moved('candidate'), trials: plan.selected });
    expect(report.noiseFloor).toMatchObject({ successes: moved('incumbent'), trials: plan.selected });
    expect(report.flipRate.low).toBeLessThanOrEqual(report.flipRate.rate);
    expect(report.flipRate.high).toBeGreaterThanOrEqual(report.flipRate.rate);
    expect(report.adjusted.difference).toBeCloseTo(report.flipRate.rate - report.noiseFloor.rate, 10);
    // The flip matrix covers every candidate result; off the diagonal are exactly the flips.
    const cells = Object.entries(report.flipMatrix.counts).flatMap(([from, row]) => Object.entries(row).map(([to, count]) => ({ from, to, count })));
    expect(cells.reduce((sum, cell) => sum + cell.count, 0)).toBe(plan.selected);
    expect(cells.filter((cell) => cell.from !== cell.to).reduce((sum, cell) => sum + cell.count, 0)).toBe(report.flips.length);
    expect(report.money.atStake).toBeCloseTo(
      report.flips.reduce((sum, flip) => sum + (flip.amount ?? 0), 0),
      6,
    );
    // Enough flips for triage, review and remediation below (the demo's candidate flips 4-7 of ~130).
    expect(report.flips.length).toBeGreaterThanOrEqual(3);

    expect(report.markdownPath).toBe(join(directory, 'reports', `${campaignId}.md`));
    expect(report.jsonPath).toBe(join(directory, 'reports', `${campaignId}.json`));
    expect(JSON.parse(readFileSync(report.jsonPath, 'utf8')).flipRate).toEqual(report.flipRate);

    expect(reportText.status, reportText.stderr).toBe(0);
    const { stdout } = reportText;
    expect(stdout).toContain(`Backfill ${campaignId}: refund.category through support-sim-2026-04-01`);
    expect(stdout).toMatch(
      new RegExp(`flips\\s+candidate support-sim-2026-04-01 disagrees with what shipped on ${report.flips.length} of ${plan.selected}, [\\d.]+% \\(95% CI`),
    );
    expect(stdout).toMatch(
      new RegExp(`noise\\s+the incumbent, re-run on the same inputs, disagrees with itself on ${report.noiseFloor.successes} of ${plan.selected}`),
    );
    expect(stdout).toMatch(/adjusted\s+flip rate minus noise floor: [+\-−]?[\d.]+ points \(95% CI .+\), (more than|within) the incumbent’s own noise/);
    expect(stdout).toContain(`at stake   $${report.money.atStake.toFixed(2)} on ${report.flips.length} flipped decisions`);
    expect(stdout).toContain(`Report: ${report.markdownPath} (and ${report.jsonPath})`);

    reportMarkdown = readFileSync(report.markdownPath, 'utf8');
    expect(reportMarkdown).toContain(`# Backfill ${campaignId}: refund.category through support-sim-2026-04-01`);
    expect(reportMarkdown).toContain('## Flip matrix');
    expect(reportMarkdown).toContain('| shipped \\ candidate |');
    for (const from of Object.keys(report.flipMatrix.counts)) expect(reportMarkdown).toContain(`| **${from}** |`);
    expect(reportMarkdown).toContain('## What was excluded, and why');
    for (const entry of plan.excluded) expect(reportMarkdown).toContain(`- **${entry.count}** ${entry.reason}: ${entry.description}`);
    expect(reportMarkdown).toContain(`Population: ${plan.population} decisions; eligible ${plan.eligible}; selected ${plan.selected}.`);

    expect(written.markdownPath).toBe(out);
    expect(written.jsonPath).toBe(join(directory, 'elsewhere', 'campaign-report.json'));
    expect(readFileSync(out, 'utf8')).toContain('## Flip matrix');
    expect(JSON.parse(readFileSync(written.jsonPath, 'utf8')).campaignId).toBe(campaignId);
  });

  it('report before triage says the flips are not triaged yet (not "no flips")', () => {
    expect(report.flips.length).toBeGreaterThan(0);
    expect(reportText.stdout).not.toMatch(/triage\s+no flips/);
    expect(reportMarkdown).toContain('not triaged yet');
  });

  it('triage under the example policy gives each flip an action and prints counts per action; broken and missing policies are refused', async () => {
    const triaged = await cli(['backfill', 'triage', campaignId, '--policy', 'examples/triage-policy.yaml']);
    expect(triaged.status, triaged.stderr).toBe(0);
    expect(triaged.stdout).toContain(`Triaged ${report.flips.length} flips of ${campaignId} under examples/triage-policy.yaml (digest `);
    const stored = query<{ item_id: string; action: string; rule: string }>(
      'SELECT item_id, action, rule FROM campaign_triage WHERE campaign_id = ?',
      campaignId,
    );
    expect(stored).toHaveLength(report.flips.length);
    const counts = new Map<string, number>();
    for (const row of stored) counts.set(row.action, (counts.get(row.action) ?? 0) + 1);
    expect(triaged.stdout).toMatch(/^ACTION\s+FLIPS$/m);
    for (const [action, count] of counts) expect(triaged.stdout).toMatch(new RegExp(`^${action}\\s+${count}$`, 'm'));
    // The rules as written in examples/triage-policy.yaml: small wrongful denials are corrected.
    const byItem = new Map(stored.map((row) => [row.item_id, row]));
    for (const flip of report.flips) {
      const assigned = byItem.get(flip.itemId);
      if (flip.from === 'deny' && flip.to === 'approve' && (flip.amount ?? Number.NaN) < 100)
        expect(assigned).toMatchObject({ action: 'correct', rule: 'wrongly-denied-small' });
      if (flip.from === 'approve' && flip.to === 'deny' && (flip.amount ?? 0) <= 200) expect(assigned).toMatchObject({ action: 'annotate', rule: 'default' });
    }

    // An unknown action on line 7: refused with the file, line and column, and nothing changes.
    const broken = join(directory, 'broken-policy.yaml');
    writeFileSync(
      broken,
      ['version: 1', 'default: annotate', 'rules:', '  - name: shout-at-denials', '    when:', '      from: deny', '    action: escalate-loudly', ''].join(
        '\n',
      ),
    );
    const refused = await cli(['backfill', 'triage', campaignId, '--policy', broken]);
    expect(refused.status).toBe(5);
    expect(refused.stderr).toContain(`${broken}:7:13: rules[0].action: unknown action "escalate-loudly"`);
    expect(query('SELECT item_id, action, rule FROM campaign_triage WHERE campaign_id = ?', campaignId)).toEqual(stored);

    const missingPath = join(directory, 'no-such-policy.yaml');
    const missing = await cli(['backfill', 'triage', campaignId, '--policy', missingPath]);
    expect(missing.status).not.toBe(0);
    expect(missing.status).not.toBe(70);
    expect(oneLineError(missing)).toContain(missingPath);
  });

  it('review lists the flips triage routed to review, records a verdict by flag, and refuses a bad verdict or a non-flip', async () => {
    // Re-triage (it replaces the first): one small wrongful denial stays `correct`, everything else
    // goes to review, so at least two flips wait whatever the candidate's noise did.
    const decisions = await cliJson<{ decisions: Decision[] }>(['decisions', '--type', 'refund.category', '--limit', '1000']);
    const ticketOf = (decisionId: string) => decisions.decisions.find((decision) => decision.decisionId === decisionId)?.attributes.ticket;
    const triage = new Map(
      query<{ item_id: string; action: string }>('SELECT item_id, action FROM campaign_triage WHERE campaign_id = ?', campaignId).map((row) => [
        row.item_id,
        row.action,
      ]),
    );
    corrected = report.flips.find((flip) => triage.get(flip.itemId) === 'correct') ?? (report.flips[0] as ReportFlip);
    const ticket = ticketOf(corrected.itemId);
    expect(ticket).toMatch(/^T-/);
    const policy = join(directory, 'review-policy.yaml');
    writeFileSync(
      policy,
      [
        'version: 1',
        'default: review',
        'rules:',
        '  - name: refund-this-one',
        '    when:',
        `      attributes: { ticket: "${ticket}" }`,
        '    action: correct',
        '',
      ].join('\n'),
    );
    const retriaged = await cliJson<{ flips: number; byAction: Record<string, number> }>(['backfill', 'triage', campaignId, '--policy', policy]);
    expect(retriaged.byAction).toEqual({ correct: 1, review: report.flips.length - 1 });
    expect(query('SELECT 1 FROM campaign_triage WHERE campaign_id = ?', campaignId)).toHaveLength(report.flips.length);

    const [queue, listed] = await Promise.all([cliJson<Queue>(['review', campaignId, '--list']), cli(['review', campaignId, '--list'])]);
    expect(queue.triaged).toBe(true);
    expect(queue.reviewed).toBe(0);
    expect(queue.waiting.map((flip) => flip.itemId).sort()).toEqual(
      report.flips
        .filter((flip) => flip.itemId !== corrected.itemId)
        .map((flip) => flip.itemId)
        .sort(),
    );
    const amounts = queue.waiting.map((flip) => flip.amount ?? 0);
    expect(amounts).toEqual([...amounts].sort((a, b) => b - a));
    reviewedInteractively = queue.waiting[0] as WaitingFlip;
    reviewedByFlag = queue.waiting.at(-1) as WaitingFlip;

    expect(listed.stdout).toContain(`${queue.waiting.length} flips wait for review (0 reviewed)`);
    for (const flip of queue.waiting) expect(listed.stdout).toMatch(new RegExp(`^\\s+${flip.itemId}\\s+${flip.from} → ${flip.to}`, 'm'));

    const nonFlip = query<{ item_id: string }>('SELECT item_id FROM campaign_items WHERE campaign_id = ? ORDER BY item_id', campaignId).find(
      (row) => !report.flips.some((flip) => flip.itemId === row.item_id),
    )?.item_id as string;
    const [recorded, badVerdict, notAFlip, noVerdict] = await Promise.all([
      cli(['review', campaignId, '--item', reviewedByFlag.itemId, '--verdict', 'candidate-right', '--note', 'x', '--reviewer', 'alice']),
      cli(['review', campaignId, '--item', reviewedByFlag.itemId, '--verdict', 'probably-fine', '--reviewer', 'alice']),
      cli(['review', campaignId, '--item', nonFlip, '--verdict', 'candidate-right', '--reviewer', 'alice']),
      cli(['review', campaignId, '--item', reviewedByFlag.itemId]),
    ]);
    expect(recorded.status, recorded.stderr).toBe(0);
    expect(recorded.stdout.trim()).toBe(`Recorded candidate-right on ${reviewedByFlag.itemId} by alice.`);
    expect(badVerdict.status).toBe(2);
    expect(oneLineError(badVerdict)).toContain('"probably-fine" is not one of incumbent-right, candidate-right, both-wrong, unsure');
    expect(notAFlip.status).toBe(3);
    expect(oneLineError(notAFlip)).toContain(`${nonFlip} is not a flip of campaign ${campaignId}`);
    expect(noVerdict.status).toBe(2);

    const after = await cliJson<Queue>(['review', campaignId, '--list']);
    expect(after.reviewed).toBe(1);
    expect(after.waiting.map((flip) => flip.itemId)).not.toContain(reviewedByFlag.itemId);
  });

  it('interactive review: a person answers each prompt, and one verdict with its note is recorded', async () => {
    const answers = ['c\n', 'looks right\n', 'q\n'];
    let given = 0;
    const session = await runInteractive(['review', campaignId, '--db', db, '--reviewer', 'bob'], (stderr, stdin) => {
      // Answer each prompt (they end in "> ") once it is shown, as a person at a terminal would.
      const prompts = stderr.split('> ').length - 1;
      while (given < prompts && given < answers.length) stdin.write(answers[given++] as string);
    });
    expect(session.status, session.stderr).toBe(0);
    expect(session.stdout).toContain(`1/${report.flips.length - 2}  ${reviewedInteractively.itemId}`);
    expect(session.stdout).toContain('what the model saw at step');
    expect(session.stdout).toContain(`Recorded 1 verdicts as bob.`);
    const queue = await cliJson<Queue>(['review', campaignId, '--list']);
    expect(queue.reviewed).toBe(2);
    expect(queue.waiting.map((flip) => flip.itemId)).not.toContain(reviewedInteractively.itemId);
    expect(queue.waiting).toHaveLength(report.flips.length - 3);
    const verdicts = query<{ item_id: string; verdict: string; reviewer: string; note: string }>(
      'SELECT item_id, verdict, reviewer, note FROM review_verdicts WHERE campaign_id = ? ORDER BY verdict_id',
      campaignId,
    );
    expect(verdicts).toEqual([
      { item_id: reviewedByFlag.itemId, verdict: 'candidate-right', reviewer: 'alice', note: 'x' },
      { item_id: reviewedInteractively.itemId, verdict: 'candidate-right', reviewer: 'bob', note: 'looks right' },
    ]);
  });

  it('interactive review with the answers piped at once ("c\\nlooks right\\nq\\n") records one verdict', async () => {
    const copy = join(directory, 'piped.db');
    copyFileSync(db, copy);
    if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${copy}-wal`);
    const before = JSON.parse((await runCli(['review', campaignId, '--list', '--json', '--db', copy])).stdout) as Queue;
    const session = await runInteractive(['review', campaignId, '--db', copy, '--reviewer', 'carol'], (stderr, stdin) => {
      if (stderr === '') stdin.end('c\nlooks right\nq\n');
    });
    expect(session.status, session.stderr).toBe(0);
    expect(session.stdout).toContain('Recorded 1 verdicts as carol.');
    const after = JSON.parse((await runCli(['review', campaignId, '--list', '--json', '--db', copy])).stdout) as Queue;
    expect(after.reviewed).toBe(before.reviewed + 1);
  });

  it("the README's remediation handler, examples/remediation-handler.mts, runs as shown: refunds to billing, the rest to tickets, each once with its key", async () => {
    const copy = join(directory, 'handler-example.db');
    copyFileSync(db, copy);
    if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${copy}-wal`);
    const log = join(directory, 'remediation.jsonl');
    const planned = await runCli(['remediate', 'plan', campaignId, '--json', '--db', copy]);
    expect(planned.status, planned.stderr).toBe(0);
    const corrections = JSON.parse(planned.stdout) as Correction[];
    expect(corrections.length).toBeGreaterThan(0);
    const applied = await runCli(['remediate', 'apply', campaignId, '--handler', 'examples/remediation-handler.mts', '--db', copy], {
      env: { REMEDIATION_LOG: log },
    });
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`Applied ${corrections.length} corrections; 0 were already applied; 0 failed.`);
    const lines = readFileSync(log, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { system: string; action: string; idempotencyKey: string });
    expect(lines.map((line) => line.idempotencyKey).sort()).toEqual(corrections.map((correction) => correction.idempotencyKey).sort());
    for (const line of lines) {
      const correction = corrections.find((candidate) => candidate.idempotencyKey === line.idempotencyKey) as Correction;
      const paid = correction.type === 'refund.category' && correction.from === 'deny' && correction.to === 'approve';
      expect([line.system, line.action]).toEqual(paid ? ['billing', 'refund'] : ['tickets', 'open']);
    }
  });

  it('remediate plans every correction with an idempotency key (CSV and JSON lines) and applies each exactly once', async () => {
    const log = join(directory, 'applied-keys.txt');
    writeFileSync(log, '');
    const handler = join(directory, 'handler.mjs');
    writeFileSync(
      handler,
      `import { appendFileSync } from 'node:fs';\nexport default async function (correction) {\n  appendFileSync(${JSON.stringify(log)}, correction.idempotencyKey + '\\n');\n}\n`,
    );
    const early = await cli(['remediate', 'apply', campaignId, '--handler', handler]);
    expect(early.status).toBe(2);
    expect(oneLineError(early)).toContain(`Campaign ${campaignId} has no planned corrections; run \`npx retrial remediate plan ${campaignId}\` first`);

    const csvPath = join(directory, 'plan.csv');
    const planned = await cli(['remediate', 'plan', campaignId, '-o', csvPath]);
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(`Wrote 3 corrections to ${csvPath}.`);
    const csv = readFileSync(csvPath, 'utf8').trimEnd().split('\n');
    expect(csv[0]).toBe('idempotencyKey,decisionId,subject,type,from,to,amount,currency,reason,status,attempts,lastError');
    expect(csv).toHaveLength(4);
    const rows = csv.slice(1).map((line) => line.split(','));
    const keys = rows.map((row) => row[0] as string);
    for (const key of keys) expect(key).toMatch(/^rc_[0-9a-f]{32}$/);
    expect(new Set(keys).size).toBe(3);
    expect(rows.map((row) => row[1]).sort()).toEqual([corrected.itemId, reviewedByFlag.itemId, reviewedInteractively.itemId].sort());
    const reasonOf = (itemId: string) => rows.find((row) => row[1] === itemId)?.[8];
    expect(reasonOf(corrected.itemId)).toBe('triage: rule refund-this-one');
    expect(reasonOf(reviewedByFlag.itemId)).toBe('review: candidate right (alice)');
    expect(reasonOf(reviewedInteractively.itemId)).toBe('review: candidate right (bob)');
    expect(rows.every((row) => row[9] === 'pending' && row[10] === '0')).toBe(true);

    const jsonlPath = join(directory, 'plan.jsonl');
    expect((await cli(['remediate', 'plan', campaignId, '-o', jsonlPath])).status).toBe(0);
    const jsonl = readFileSync(jsonlPath, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Correction);
    expect(jsonl.map((entry) => entry.idempotencyKey)).toEqual(keys);
    for (const entry of jsonl) {
      const flip = report.flips.find((candidate) => candidate.itemId === entry.decisionId) as ReportFlip;
      expect(entry).toMatchObject({ from: flip.from, to: flip.to, status: 'pending' });
    }

    const notAFunction = join(directory, 'not-a-handler.mjs');
    writeFileSync(notAFunction, 'export const handler = 42;\n');
    const refused = await cli(['remediate', 'apply', campaignId, '--handler', notAFunction]);
    expect(refused.status).toBe(2);
    expect(oneLineError(refused)).toContain(`--handler ${notAFunction} must export a function`);

    const applied = await cli(['remediate', 'apply', campaignId, '--handler', handler]);
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Applied 3 corrections; 0 were already applied; 0 failed.');
    expect(readFileSync(log, 'utf8').trimEnd().split('\n').sort()).toEqual([...keys].sort());

    const again = await cli(['remediate', 'apply', campaignId, '--handler', handler]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('Applied 0 corrections; 3 were already applied; 0 failed.');
    expect(readFileSync(log, 'utf8').trimEnd().split('\n')).toHaveLength(3);

    const replanned = await cliJson<Correction[]>(['remediate', 'plan', campaignId]);
    expect(replanned.map((entry) => entry.idempotencyKey)).toEqual(keys);
    expect(replanned.every((entry) => entry.status === 'applied')).toBe(true);
  });

  it('decisions shows the corrections superseding the originals, and --include-superseded shows the originals too', async () => {
    const [keys, { decisions: current }, { decisions: all }] = await Promise.all([
      cliJson<Correction[]>(['remediate', 'plan', campaignId]),
      cliJson<{ decisions: Decision[] }>(['decisions', '--type', 'refund.category', '--limit', '1000']),
      cliJson<{ decisions: Decision[] }>(['decisions', '--type', 'refund.category', '--limit', '1000', '--include-superseded']),
    ]);
    expect(all.length).toBe(current.length + keys.length);
    for (const correction of keys) {
      const superseding = current.find((decision) => decision.supersedes === correction.decisionId);
      expect(superseding).toMatchObject({
        decisionId: `${correction.decisionId}/${correction.idempotencyKey}`,
        value: correction.to,
        attributes: expect.objectContaining({ campaign: campaignId, correction: correction.idempotencyKey }),
      });
      expect(current.some((decision) => decision.decisionId === correction.decisionId)).toBe(false);
      expect(all.find((decision) => decision.decisionId === correction.decisionId)).toMatchObject({ value: correction.from, supersedes: null });
    }
  });

  it('audit lists the campaign trail and verifies the hash chain', async () => {
    const [audit, text] = await Promise.all([
      cliJson<{ entries: AuditEntry[]; verified: boolean; problems: unknown[] }>(['audit', '--campaign', campaignId, '--verify']),
      cli(['audit', '--campaign', campaignId, '--verify']),
    ]);
    expect(audit.verified).toBe(true);
    expect(audit.problems).toEqual([]);
    expect(audit.entries.every((entry) => entry.campaignId === campaignId)).toBe(true);
    const actions = audit.entries.map((entry) => entry.action);
    expect(actions[0]).toBe('campaign.created');
    for (const action of [
      'campaign.created',
      'campaign.run.started',
      'campaign.run.finished',
      'triage.applied',
      'review.verdict',
      'remediation.planned',
      'correction.applied',
    ])
      expect(actions).toContain(action);
    expect(actions.filter((action) => action === 'triage.applied')).toHaveLength(2);
    expect(actions.filter((action) => action === 'correction.applied')).toHaveLength(3);
    expect(audit.entries.filter((entry) => entry.action === 'review.verdict').map((entry) => [entry.actor, entry.details.note])).toEqual([
      ['alice', 'x'],
      ['bob', 'looks right'],
    ]);

    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/Audit chain verified: \d+ entries/);
    for (const action of ['campaign.created', 'triage.applied', 'review.verdict', 'correction.applied']) expect(text.stdout).toContain(action);
    // The table keeps decision ids whole, so they can be looked up from it.
    for (const entry of audit.entries.filter((candidate) => candidate.action === 'correction.applied'))
      expect(text.stdout).toContain(`decisionId=${String(entry.details.decisionId)}`);
  });

  it('an unknown campaign id is a one-line "not found" (exit 3) pointing at `retrial backfill list`; a bad --candidate is a usage error', async () => {
    const unknown = 'bf_doesnotexist';
    const results = await Promise.all([
      cli(['backfill', 'run', unknown]),
      cli(['backfill', 'report', unknown]),
      cli(['backfill', 'triage', unknown, '--policy', 'examples/triage-policy.yaml']),
      cli(['review', unknown]),
      cli(['review', unknown, '--list']),
      cli(['remediate', 'plan', unknown]),
    ]);
    for (const result of results) {
      expect(result.status).toBe(3);
      const line = oneLineError(result);
      expect(line).toContain(`No campaign ${unknown}`);
      expect(line).toContain('`npx retrial backfill list`');
    }
    const campaigns = query('SELECT campaign_id FROM campaigns');
    const bad = await cli(['backfill', 'plan', '--type', 'refund.category', '--candidate', 'gpt-4o']);
    expect(bad.status).toBe(2);
    expect(oneLineError(bad)).toMatch(/"gpt-4o" must be provider:name/);
    expect(query('SELECT campaign_id FROM campaigns')).toEqual(campaigns);
  });

  it('a bad --candidate is named as --candidate in the error', async () => {
    const bad = await cli(['backfill', 'plan', '--type', 'refund.category', '--candidate', 'gpt-4o']);
    expect(bad.stderr).toContain('--candidate "gpt-4o"');
  });

  it('audit --verify exits 1 and names the entry after one audit row is changed in the file', async () => {
    const database = new Database(db, { fileMustExist: true });
    const target = database.prepare("SELECT seq FROM audit_log WHERE action = 'review.verdict' AND actor = 'bob'").get() as { seq: number };
    database.prepare('UPDATE audit_log SET details_json = replace(details_json, ?, ?) WHERE seq = ?').run('looks right', 'looks wrong', target.seq);
    database.close();
    const [result, jsonResult] = await Promise.all([cli(['audit', '--verify']), cli(['audit', '--verify', '--json'])]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('AUDIT CHAIN BROKEN');
    expect(result.stdout).toContain(`entry ${target.seq}: its content does not match its hash`);
    expect(jsonResult.status).toBe(1);
    const json = JSON.parse(jsonResult.stdout) as { verified: boolean; problems: Array<{ seq: number }> };
    expect(json.verified).toBe(false);
    expect(json.problems.map((problem) => problem.seq)).toEqual([target.seq]);
  });
});
