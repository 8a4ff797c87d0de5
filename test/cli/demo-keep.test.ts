import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureLine } from '../../src/cli/commands/demo-command.ts';
import { recordDemoHistory } from '../../src/demo/record-demo-history.ts';
import { openStore } from '../../src/store/index.ts';
import { runCli } from './run-cli.ts';

const work = mkdtempSync(join(tmpdir(), 'retrial-demo-keep-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('demo --keep into a store that holds an earlier demo', () => {
  it('records every run under a fresh id and exits 0', async () => {
    const db = join(work, 'keep.db');
    const first = await runCli(['demo', '--runs', '12', '--db', db]);
    expect(first.status, first.stderr).toBe(0);
    const second = await runCli(['demo', '--runs', '12', '--db', db, '--keep']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).not.toMatch(/runs failed/);
    expect(second.stderr).not.toMatch(/failed to record/);
    const store = await openStore(db, { readonly: true });
    try {
      expect(await store.countRuns({ agent: 'support-agent', forks: 'exclude' })).toBe(24);
      // The second demo's incident is a run of its own beside the first's.
      expect((await store.listRuns({ subject: 'T-INC-0214', forks: 'exclude' })).length).toBe(2);
    } finally {
      await store.close();
    }
  }, 240_000);
});

describe('a demo whose runs fail', () => {
  it('counts them and keeps the first error for the one line the command exits 1 on', async () => {
    // Nothing listens on the discard port: every run's first model call fails, and the agent with it.
    const store = await openStore(join(work, 'failing.db'));
    try {
      const history = await recordDemoHistory({ store, modelBaseUrl: 'http://127.0.0.1:9/v1', runs: 3, concurrency: 3, redactionSalt: 'salt' });
      expect(history.failedRuns).toBe(3);
      expect(history.firstFailure?.runId).toMatch(/^run_t-/);
      const line = failureLine(history.failedRuns, 3, history.firstFailure as { runId: string; message: string });
      expect(line).toMatch(/^retrial demo: 3 of 3 runs failed to record; the first, run_t-\S+: \S/);
      expect(line).not.toContain('\n');
    } finally {
      await store.close();
    }
  }, 120_000);
});
