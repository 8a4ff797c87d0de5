import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyStore, openStore, type Store, verifyLedger, verifyStore } from '../../src/store/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';
import { buildRemediatedStore, type RemediatedStore, storeContents } from '../fixtures/remediated-store.ts';

/**
 * Moving from the embedded store to the team store: a SQLite store with runs, a resample, a
 * remediated campaign and its audit log, copied into PostgreSQL (RETRIAL_TEST_PG), by the library
 * and by `retrial copy` killed with SIGKILL mid-way and run again.
 */
const BIN = join(process.cwd(), 'bin', 'retrial.js');
let source: RemediatedStore;
let copiedRunIds: string[];
const databases: Array<{ url: string; drop(): Promise<void> }> = [];

beforeAll(async () => {
  source = await buildRemediatedStore({ runs: 300, seed: 'remediation-safety' });
  copiedRunIds = (await source.store.listRunIds()).filter((runId) => runId !== source.recordingRunId);
}, 300_000);

afterAll(async () => {
  await source?.dispose();
  for (const database of databases) await database.drop();
});

async function newDatabase(): Promise<string> {
  const database = await createTestDatabase('retrial_copy');
  databases.push(database);
  return database.url;
}

/** Runs in the PostgreSQL store at `url`, or 0 while it is still being created. */
async function runsIn(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('SELECT COUNT(*) AS n FROM runs')).rows[0].n);
  } catch {
    return 0;
  } finally {
    await client.end();
  }
}

describe('copyStore, SQLite to PostgreSQL', () => {
  let target: Store;

  afterAll(async () => target?.close());

  it('copies everything, the target verifies and equals the source, and a second copy writes nothing', { timeout: 300_000 }, async () => {
    target = await openStore(await newDatabase());
    const result = await copyStore(source.store, target);
    expect(result.verification).toMatchObject({ ok: true, runs: copiedRunIds.length, problems: [], differences: [] });
    expect(result.runs).toMatchObject({ copied: copiedRunIds.length, alreadyPresent: 0, stillRecording: [source.recordingRunId] });
    expect(result.decisions.corrections).toBe(source.corrections);

    const expected = await storeContents(source.store, copiedRunIds);
    expect(await storeContents(target, copiedRunIds)).toEqual({
      ...expected,
      ledger: expected.ledger.filter((row) => row.runId !== source.recordingRunId),
    });
    const failed = [];
    for await (const run of verifyStore(target)) if (!run.ok) failed.push(run);
    expect(failed).toEqual([]);
    expect(await verifyLedger(target)).toMatchObject({ ok: true, problems: [] });

    const again = await copyStore(source.store, target);
    expect(again).toMatchObject({ nothingToCopy: true, runs: { copied: 0, alreadyPresent: copiedRunIds.length }, verification: { ok: true } });
  });
});

describe('retrial copy into PostgreSQL', () => {
  it('killed with SIGKILL mid-way, then run again: finishes with no run copied twice, and verifies', { timeout: 300_000 }, async () => {
    await source.store.close();
    // The salt the recorder would keep beside the store (the fixture passed it in).
    writeFileSync(join(dirname(source.path), 'redaction-salt'), 's\n', { mode: 0o600 });
    const url = await newDatabase();
    const child: ChildProcess = spawn(process.execPath, [BIN, 'copy', '--from', source.path, '--to', url], {
      env: { ...process.env, RETRIAL_FROM_SOURCE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const end = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
    // Events, not time: kill it once it has committed a run of its own.
    while ((await runsIn(url)) === 0) if (child.exitCode !== null) throw new Error(`copy ended (exit ${child.exitCode}) before writing a run: ${stderr}`);
    child.kill('SIGKILL');
    expect(await end, stderr).toBe('SIGKILL');
    const copiedBeforeKill = await runsIn(url);
    expect(copiedBeforeKill).toBeLessThan(copiedRunIds.length);

    const again = await runCli(['copy', '--from', source.path, '--to', url, '--json']);
    expect(again.status, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout);
    expect(result.runs).toMatchObject({ copied: copiedRunIds.length - copiedBeforeKill, alreadyPresent: copiedBeforeKill });
    expect(result.verification).toMatchObject({ ok: true, problems: [], differences: [] });
    // The salt stays out of the store: the result says where replay finds it.
    expect(result.redactionSalt).toEqual({ outcome: 'elsewhere', from: join(dirname(source.path), 'redaction-salt') });
    expect(await runsIn(url)).toBe(copiedRunIds.length);

    const verify = await runCli(['verify', '--db', url]);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`^OK: ${copiedRunIds.length} runs`, 'm'));
  });
});

describe('retrial copy, PostgreSQL back into a new SQLite file', () => {
  it('writes RETRIAL_REDACTION_SALT (what the PostgreSQL recorders used) beside it; unset, says the runs need it', async () => {
    const url = await newDatabase();
    const into = await runCli(['copy', '--from', source.path, '--to', url, '--json']);
    expect(into.status, into.stderr).toBe(0);
    const directory = mkdtempSync(join(tmpdir(), 'retrial-copy-back-'));
    try {
      const unset = await runCli(['copy', '--from', url, '--to', join(directory, 'unset.db')], { env: { RETRIAL_REDACTION_SALT: '' } });
      expect(unset.status, unset.stderr).toBe(0);
      expect(unset.stdout).toMatch(/needs the salt their recorders used \(RETRIAL_REDACTION_SALT\).*set it where you replay/);
      expect(existsSync(join(directory, 'redaction-salt'))).toBe(false);

      const set = await runCli(['copy', '--from', url, '--to', join(directory, 'set.db'), '--json'], { env: { RETRIAL_REDACTION_SALT: 'fleet-salt' } });
      expect(set.status, set.stderr).toBe(0);
      expect(JSON.parse(set.stdout).redactionSalt).toEqual({ outcome: 'copied', from: '$RETRIAL_REDACTION_SALT', to: join(directory, 'redaction-salt') });
      expect(readFileSync(join(directory, 'redaction-salt'), 'utf8')).toBe('fleet-salt');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
