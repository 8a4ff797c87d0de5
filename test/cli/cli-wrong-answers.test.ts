import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

/** Answers the CLI got wrong (issue 14): each case states the right answer, checked end to end. */
const directory = mkdtempSync(join(tmpdir(), 'retrial-cli-answers-'));
const golden = join(process.cwd(), 'test', 'fixtures', 'golden', 'support-agent-incident.v1.tape.jsonl');
const db = join(directory, 'store.db');
let runId: string;

beforeAll(async () => {
  const tape = join(directory, 'incident.tape.jsonl');
  copyFileSync(golden, tape);
  runId = (JSON.parse(readFileSync(tape, 'utf8').split('\n')[0] as string) as { header: { runId: string } }).header.runId;
  expect((await runCli(['import', tape, '--db', db])).status).toBe(0);
}, 120_000);

/** The golden tapes run_golden_0 (ticket T-INC-0214, customer C-7314) and run_golden_1 (ticket T-200001), in a store of their own. */
async function storeWithTwoRuns(): Promise<string> {
  const both = join(directory, 'both.db');
  const tapes = ['support-agent-incident.v1.tape.jsonl', 'support-agent-streamed-refund.v1.tape.jsonl'].map((name) =>
    join(process.cwd(), 'test', 'fixtures', 'golden', name),
  );
  expect((await runCli(['import', ...tapes, '--db', both])).status).toBe(0);
  return both;
}

describe('run and campaign ids as people type them', () => {
  let both: string;
  beforeAll(async () => {
    both = await storeWithTwoRuns();
  }, 120_000);

  it('a prefix of two runs is "ambiguous" with both candidates, exit 2, not "No run with id"', async () => {
    for (const command of [['show'], ['export', '-o', '-'], ['resample', '--step', '12', '-n', '1']]) {
      const [name, ...rest] = command as [string, ...string[]];
      const result = await runCli([name, 'run_golden', ...rest, '--db', both]);
      expect(result.stderr).toBe('retrial: "run_golden" is ambiguous: it matches 2 runs (run_golden_0, run_golden_1). Type more of the id.\n');
      expect(result.status).toBe(2);
    }
  }, 180_000);

  it('finds a run by a unique prefix, by its ticket id and by its customer id', async () => {
    for (const typed of ['run_golden_1', 'T-200001']) {
      const result = await runCli(['show', typed, '--db', both, '--json']);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout).run.header.runId).toBe('run_golden_1');
    }
    // In the store that holds only run_golden_0, a prefix of it is unambiguous.
    const byPrefix = await runCli(['show', 'run_gold', '--db', db, '--json']);
    expect(byPrefix.status).toBe(0);
    expect(JSON.parse(byPrefix.stdout).run.header.runId).toBe('run_golden_0');
    for (const typed of ['T-INC-0214', 'C-7314']) {
      const result = await runCli(['export', typed, '--db', both, '-o', '-']);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout.split('\n')[0] as string).header.runId).toBe('run_golden_0');
    }
    const decisions = await runCli(['decisions', '--run', 'T-INC-0214', '--db', both, '--json']);
    expect(JSON.parse(decisions.stdout).decisions).toEqual([expect.objectContaining({ runId: 'run_golden_0', type: 'account.action' })]);
    const noSuchRun = await runCli(['decisions', '--run', 'run_golden_9', '--db', both]);
    expect(noSuchRun.stderr).toMatch(/^retrial: No run with id "run_golden_9"/);
    expect(noSuchRun.status).toBe(3);
    const replayed = await runCli(['replay', 'T-INC-0214', '--agent', 'src/demo/support-agent.ts', '--db', both, '--json'], {
      env: { RETRIAL_REDACTION_SALT: 'golden-tape-salt' },
    });
    expect(JSON.parse(replayed.stdout)).toMatchObject({ runId: 'run_golden_0', ok: true });
  }, 180_000);

  it('campaigns: an unambiguous prefix works, a shared one lists the candidates', async () => {
    const plan = ['backfill', 'plan', '--type', 'refund.category', '--candidate', 'sim:support-sim-2026-04-01', '--since', '3650d', '--db', both, '--json'];
    const first = JSON.parse((await runCli(plan)).stdout).campaignId as string;
    const second = JSON.parse((await runCli(plan)).stdout).campaignId as string;
    expect(first).not.toBe(second);
    let common = 0;
    while (first[common] === second[common]) common++;
    const report = await runCli(['backfill', 'report', first.slice(0, common + 1), '--db', both, '-o', join(directory, 'campaign.md'), '--json']);
    expect(report.status).toBe(0);
    expect(JSON.parse(report.stdout).campaignId).toBe(first);
    const ambiguous = await runCli(['remediate', 'plan', first.slice(0, common), '--db', both]);
    expect(ambiguous.stderr).toMatch(new RegExp(`is ambiguous: it matches 2 campaigns \\((${first}, ${second}|${second}, ${first})\\)`));
    expect(ambiguous.status).toBe(2);
  }, 180_000);
});

describe('resample --classify-by', () => {
  it('counts the recorded answer as the same class as equal live answers, whatever their key order', async () => {
    // finishReason is { unified, raw } on the wire and { raw, unified } in the canonical tape.
    const result = await runCli(['resample', runId, '--db', db, '--step', '12', '-n', '4', '--classify-by', 'finishReason', '--json']);
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as {
      recordedClass: string;
      hypothesis: { class: string; estimate: { successes: number } };
      distribution: Array<{ class: string; count: number }>;
    };
    expect(parsed.recordedClass).toBe('{"raw":"tool_calls","unified":"tool-calls"}');
    expect(parsed.distribution).toEqual([expect.objectContaining({ class: parsed.recordedClass, count: 4 })]);
    expect(parsed.hypothesis).toMatchObject({ class: parsed.recordedClass, estimate: { successes: 4 } });
  }, 120_000);
});

describe('sim serve', () => {
  it('on a port already in use is one line naming the port and what to do, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    try {
      const result = await runCli(['sim', 'serve', '--port', String(port)]);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(result.stderr.trim().split('\n')).toEqual([
        `retrial: Port ${port} on 127.0.0.1 is already in use (another simulator?). Stop what listens there, or pass --port <another> (--port 0 picks a free one).`,
      ]);
      expect(result.status).toBe(2);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 120_000);
});
