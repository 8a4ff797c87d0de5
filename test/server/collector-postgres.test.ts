import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecorderHealth } from '../../src/record/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';
import { startCollectorProcess, startRecorderProcess, type WatchedProcess } from './collector-processes.ts';

const TOKEN = 'postgres-token-8b21';
let database: { url: string; drop(): Promise<void> };
const started: WatchedProcess[] = [];
beforeAll(async () => {
  database = await createTestDatabase('retrial_collector');
});
afterAll(async () => {
  for (const process of started) if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGKILL');
  await database?.drop();
});

describe('retrial server over a PostgreSQL store', () => {
  it('takes 8 recorder processes sending at once, and loses nothing across a SIGKILL and restart: verify clean, every run complete', async () => {
    const first = await startCollectorProcess(database.url, { token: TOKEN });
    started.push(first);
    const prefixes = Array.from({ length: 8 }, (_, index) => `run_pg${index}`);
    const count = 12;
    const recorders = prefixes.map((prefix) => startRecorderProcess({ url: first.url, token: TOKEN, prefix, count, pauseMs: 10 }));
    started.push(...recorders);
    for (const recorder of recorders) await recorder.waitFor(/recorded \S+_0002\n/);
    first.child.kill('SIGKILL');
    await first.exited;
    for (const recorder of recorders) await recorder.waitFor(/recorded \S+_0006\n/);
    const second = await startCollectorProcess(database.url, { port: first.port, token: TOKEN });
    started.push(second);
    for (const recorder of recorders) {
      expect(await recorder.exited, recorder.stderr()).toBe(0);
      const [, health] = (await recorder.waitFor(/flushed (.+)\n/)) as unknown as [string, string];
      expect(JSON.parse(health) as RecorderHealth).toMatchObject({ runsDegraded: 0, eventsDropped: 0, unsentBatches: 0, lastFailure: null });
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const verify = await runCli(['verify', '--db', database.url]);
    expect(verify.stdout).toMatch(new RegExp(`^OK: ${8 * count} runs, `, 'm'));
    expect(verify.status).toBe(0);
    const listed = await runCli(['runs', '--db', database.url, '--json', '--limit', '1000']);
    const runs = (JSON.parse(listed.stdout) as { runs: Array<{ runId: string; status: string; eventCount: number }> }).runs;
    expect(runs).toHaveLength(8 * count);
    expect(runs.filter((run) => run.status !== 'complete' || run.eventCount !== 8)).toEqual([]);
  }, 300_000);
});
