import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres/postgres-migrations.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';
import { type CliResult, runCli } from './run-cli.ts';

/**
 * Issue 15, part 1: the same product on PostgreSQL. The demo records into a PostgreSQL database
 * and every command below works on it through --db postgres://... exactly as on a SQLite file.
 */

const directory = mkdtempSync(join(tmpdir(), 'retrial-cli-pg-'));
let database: { url: string; drop(): Promise<void> };
let other: { url: string; drop(): Promise<void> };
let demo: { runs: number; location: string; incident: { runId: string; decisionStep: number | null }; backfill: { campaignId: string } };

/** A PostgreSQL store keeps no salt file: recording and replay share it through the environment. */
const SALT = 'cli-postgres-test-salt';
/** In the temp directory: a campaign's report goes to .retrial/reports there, not into the repository. */
const cli = (args: string[]) => runCli([...args, '--db', database.url], { cwd: directory, env: { RETRIAL_REDACTION_SALT: SALT } });
const AGENT = join(process.cwd(), 'src/demo/support-agent.ts');
async function cliJson<T>(args: string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}
function oneLineError(result: CliResult): string {
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  return lines[0] as string;
}

beforeAll(async () => {
  database = await createTestDatabase('retrial_t_cli');
  other = await createTestDatabase('retrial_t_cli');
  const unsalted = await runCli(['demo', '--runs', '30', '--db', database.url], { cwd: directory, env: { RETRIAL_REDACTION_SALT: '' } });
  expect(unsalted.status).toBe(2);
  expect(oneLineError(unsalted)).toMatch(/A PostgreSQL store keeps no redaction salt file: set RETRIAL_REDACTION_SALT/);
  const result = await runCli(['demo', '--runs', '30', '--db', database.url, '--json'], { cwd: directory, env: { RETRIAL_REDACTION_SALT: SALT } });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  demo = JSON.parse(result.stdout);
}, 300_000);

afterAll(async () => {
  await database?.drop();
  await other?.drop();
});

describe('retrial CLI on PostgreSQL', () => {
  it('demo records into the database, shown without a password', () => {
    expect(demo.runs).toBe(30);
    expect(demo.location).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/retrial_t_cli_/);
    expect(demo.incident.runId).toMatch(/^run_t-inc-0214/);
  });

  it('migrate says the store is current; runs, show and decisions read it', async () => {
    const migrate = await cli(['migrate']);
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(
      new RegExp(
        `^The PostgreSQL store at postgres://postgres@127\\.0\\.0\\.1:\\d+/retrial_t_cli_\\w+ is up to date \\(schema version ${LATEST_POSTGRES_SCHEMA_VERSION}\\); nothing to do\\.`,
      ),
    );
    const { runs } = await cliJson<{ runs: Array<{ runId: string }> }>(['runs', '--limit', '100']);
    expect(runs).toHaveLength(30);
    expect(runs.map((run) => run.runId)).toContain(demo.incident.runId);
    const show = await cli(['show', demo.incident.runId, '--step', String(demo.incident.decisionStep)]);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('close_account');
    const { decisions } = await cliJson<{ decisions: Array<{ type: string; value: string }> }>(['decisions', '--type', 'account.action']);
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.every((decision) => decision.type === 'account.action')).toBe(true);
  });

  it('migrate does the same for a SQLite file: creates it at the latest version, then finds nothing to do', async () => {
    const file = join(directory, 'migrated.db');
    const created = await runCli(['migrate', '--db', file]);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^Migrated the SQLite store at .*migrated\.db from a new store to schema version \d+ \(applied 1, 2, /);
    const again = await runCli(['migrate', '--db', file, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ backend: 'sqlite', applied: [] });
  });

  it('verify checks every run read-only and passes', async () => {
    const verify = await cli(['verify']);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK: 30 runs, \d+ events, \d+ blobs and \d+ ledger rows checked; 0 runs with problems, 0 ledger problems\.$/m);
  });

  it('export from PostgreSQL and import into another PostgreSQL store round-trip a run, which verifies there', async () => {
    const tape = join(directory, 'incident.tape.jsonl');
    expect((await cli(['export', demo.incident.runId, '-o', tape])).status).toBe(0);
    const imported = await runCli(['import', tape, '--db', other.url]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`Imported ${demo.incident.runId}`);
    const again = join(directory, 'again.tape.jsonl');
    expect((await runCli(['export', demo.incident.runId, '--db', other.url, '-o', again])).status).toBe(0);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(tape, 'utf8'));
    const verify = await runCli(['verify', '--db', other.url]);
    expect(verify.stdout).toMatch(/^OK: 1 runs/m);
  });

  it('replay reproduces the incident from its tape in the database', async () => {
    const replay = await cli(['replay', demo.incident.runId, '--agent', AGENT]);
    expect(replay.stderr).toBe('');
    expect(replay.status).toBe(0);
    expect(replay.stdout).toMatch(/^REPRODUCED run_t-inc-0214/);
  });

  it('backfill plans and runs a campaign, review lists it, remediate plans, and the audit chain verifies', async () => {
    const { campaignId, plan } = await cliJson<{ campaignId: string; plan: { selected: number } }>([
      'backfill',
      'plan',
      '--type',
      'refund.category',
      '--since',
      '400d',
      '--candidate',
      'sim:support-sim-2026-04-01',
    ]);
    expect(plan.selected).toBeGreaterThan(0);
    const run = await cli(['backfill', 'run', campaignId]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Campaign ${campaignId}: `);
    const rerun = await cliJson<{ written: number; pending: number }>(['backfill', 'run', campaignId]);
    expect(rerun).toMatchObject({ written: 0, pending: 0 });
    const review = await cli(['review', demo.backfill.campaignId, '--list']);
    expect(review.status, review.stderr).toBe(0);
    const remediate = await cli(['remediate', 'plan', demo.backfill.campaignId, '-o', join(directory, 'corrections.csv')]);
    expect(remediate.status, remediate.stderr).toBe(0);
    const audit = await cli(['audit', '--verify']);
    expect(audit.status, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(/Audit chain verified: \d+ entries/);
    expect(audit.stdout).toContain('campaign.created');
  });

  it('says in one line, with exit 4, when the server cannot be reached, and exit 3 when the database does not exist', async () => {
    const unreachable = await runCli(['runs', '--db', 'postgres://postgres:secret-pw@127.0.0.1:1/retrial']);
    expect(unreachable.status).toBe(4);
    expect(oneLineError(unreachable)).toMatch(/cannot be reached .*check that it runs/);
    expect(unreachable.stderr).not.toContain('secret-pw');
    const missingUrl = new URL(database.url);
    missingUrl.pathname = '/retrial_t_cli_missing';
    const missing = await runCli(['runs', '--db', missingUrl.toString()]);
    expect(missing.status).toBe(3);
    expect(oneLineError(missing)).toMatch(/has no database "retrial_t_cli_missing"; create it/);
  });
});
