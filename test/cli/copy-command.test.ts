import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/index.ts';
import { buildRemediatedStore, type RemediatedStore } from '../fixtures/remediated-store.ts';
import { runCli } from './run-cli.ts';

/**
 * `retrial copy` as a person runs it: killed with SIGKILL mid-way and run again, a second time with
 * nothing left to do, stopped with Ctrl-C, and pointed at a store that holds another history.
 */
const BIN = join(process.cwd(), 'bin', 'retrial.js');
const directory = mkdtempSync(join(tmpdir(), 'retrial-copy-cli-'));
let source: RemediatedStore;
/** Runs the copy takes: all but the one still being recorded. */
let total: number;

beforeAll(async () => {
  source = await buildRemediatedStore({ runs: 300, seed: 'remediation-safety' });
  total = (await source.store.listRunIds()).length - 1;
  // The salt the recorder would keep beside the store (the fixture passed it in).
  writeFileSync(join(dirname(source.path), 'redaction-salt'), 's\n', { mode: 0o600 });
  // The CLI processes below are the only ones using it from here on (this process still "records" one run).
  await source.store.close();
}, 300_000);

afterAll(async () => {
  await source?.dispose();
  rmSync(directory, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ended(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

/** Runs in a SQLite store another process is writing, or 0 while it is still being created. */
function runsIn(path: string): number {
  if (!existsSync(path)) return 0;
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (reader.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
  } catch {
    // Not migrated yet: no runs table.
    return 0;
  } finally {
    reader.close();
  }
}

/** Starts a copy and waits until it has written a run of its own (events, not time: start-up alone can take seconds on a loaded box). */
async function copyUntilFirstRun(target: string): Promise<{ child: ChildProcess; end: ReturnType<typeof ended>; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'copy', '--from', source.path, '--to', target], {
    env: { ...process.env, RETRIAL_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout?.resume();
  const end = ended(child);
  while (runsIn(target) === 0) {
    if (child.exitCode !== null) throw new Error(`copy ended (exit ${child.exitCode}) before writing a run: ${stderr}`);
    await sleep(5);
  }
  return { child, end, stderr: () => stderr };
}

describe('retrial copy', () => {
  it('killed with SIGKILL mid-way, then run again: finishes, with no run copied twice, and the target verifies', { timeout: 300_000 }, async () => {
    const target = join(directory, 'team.db');
    const { child, end, stderr } = await copyUntilFirstRun(target);
    child.kill('SIGKILL');
    expect((await end).signal, stderr()).toBe('SIGKILL');
    const copiedBeforeKill = runsIn(target);
    expect(copiedBeforeKill).toBeGreaterThan(0);
    expect(copiedBeforeKill).toBeLessThan(total);

    const again = await runCli(['copy', '--from', source.path, '--to', target, '--json']);
    expect(again.status, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout);
    expect(result.runs).toEqual({
      inSource: total + 1,
      copied: total - copiedBeforeKill,
      alreadyPresent: copiedBeforeKill,
      stillRecording: [source.recordingRunId],
    });
    expect(result.verification).toMatchObject({ ok: true, runs: total, problems: [], differences: [] });
    expect(result.campaigns).toMatchObject({ copied: 1 });
    expect(result.audit.copied).toBe(result.audit.inSource);
    expect(runsIn(target)).toBe(total);
    // Replay from the new store needs the salt the runs were recorded with: it comes along beside a new SQLite store.
    expect(result.redactionSalt).toEqual({ outcome: 'copied', from: join(dirname(source.path), 'redaction-salt'), to: join(directory, 'redaction-salt') });
    expect(readFileSync(join(directory, 'redaction-salt'), 'utf8')).toBe('s\n');

    const [verify, audit] = await Promise.all([runCli(['verify', '--db', target]), runCli(['audit', '--verify', '--db', target, '--json'])]);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^OK: ${total} runs`, 'm'));
    expect(audit.status, audit.stdout).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ verified: true });

    const third = await runCli(['copy', '--from', source.path, '--to', target]);
    expect(third.status, third.stderr).toBe(0);
    expect(third.stdout).toMatch(
      new RegExp(
        `^Nothing to copy: .*team\\.db already holds all ${total} runs, 1 campaign and ${result.audit.inSource} audit entries of .*history\\.db\\.$`,
        'm',
      ),
    );
    expect(third.stdout).toMatch(/^Left 1 run still being recorded into the source \(run_still-recording\); copy again once they end\.$/m);
    expect(third.stdout).toMatch(/^OK: verified in the target, equal to the source: /m);
    // Progress goes to stderr (without --json), the result alone to stdout.
    expect(third.stderr).toMatch(new RegExp(`^Verifying: ${total}/${total} runs`, 'm'));
  });

  it('stopped with Ctrl-C: says what to do, exits 130, and the next copy finishes', { timeout: 300_000 }, async () => {
    const target = join(directory, 'interrupted.db');
    const { child, end, stderr } = await copyUntilFirstRun(target);
    child.kill('SIGINT');
    const { code } = await end;
    expect(code, stderr()).toBe(130);
    expect(stderr()).toMatch(/^retrial: copy interrupted; what it wrote stays, and the same command run again finishes the copy\.$/m);
    expect(runsIn(target)).toBeLessThan(total);
    const again = await runCli(['copy', '--from', source.path, '--to', target, '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).verification.ok).toBe(true);
    expect(runsIn(target)).toBe(total);
  });

  it('refuses a target that holds another audit history: one line, exit 7, nothing written', { timeout: 120_000 }, async () => {
    const target = join(directory, 'other.db');
    const other = await openSqliteStore(target);
    await other.campaigns.appendAudit({ at: 0, actor: 'someone', action: 'campaign.created', campaignId: 'bf_other', details: null });
    await other.close();
    const refused = await runCli(['copy', '--from', source.path, '--to', target]);
    expect(refused.status).toBe(7);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      "retrial: The target's audit log differs from the source's at entry 1 (campaign.created at 1970-01-01T00:00:00.000Z): it holds another history (copy into a store without one). Nothing was copied.\n",
    );
    expect(runsIn(target)).toBe(0);
  });

  it('says what is wrong with the command line (exit 2)', { timeout: 120_000 }, async () => {
    const cases = [
      [['copy', '--from', source.path], /^retrial: Name the store to copy into with --to/],
      [['copy', '--from', source.path, '--to', source.path], /^retrial: --from and --to name the same store/],
      [['copy', '--from', source.path, '--to', ':memory:'], /^retrial: A :memory: store lives only as long as one command/],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => runCli([...args])));
    results.forEach((result, index) => {
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch((cases[index] as (typeof cases)[number])[1]);
    });
  });
});
