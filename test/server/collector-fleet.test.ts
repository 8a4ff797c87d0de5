import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecorderHealth } from '../../src/record/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { startCollectorProcess, startRecorderProcess, type WatchedProcess } from './collector-processes.ts';

const TOKEN = 'fleet-token-41d7';
const directory = mkdtempSync(join(tmpdir(), 'retrial-collector-fleet-'));
const started: WatchedProcess[] = [];
afterAll(() => {
  for (const process of started) if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});

/** Waits for a recorder to finish and returns the health it printed after its last flush. */
async function finished(recorder: WatchedProcess): Promise<RecorderHealth> {
  const code = await recorder.exited;
  expect(code, recorder.stderr()).toBe(0);
  const [, health] = (await recorder.waitFor(/flushed (.+)\n/)) as unknown as [string, string];
  return JSON.parse(health) as RecorderHealth;
}

interface ListedRun {
  runId: string;
  status: string;
  eventCount: number;
}

async function storedRuns(database: string): Promise<ListedRun[]> {
  const listed = await runCli(['runs', '--db', database, '--json', '--limit', '10000']);
  expect(listed.status, listed.stderr).toBe(0);
  return (JSON.parse(listed.stdout) as { runs: ListedRun[] }).runs;
}

function expectEveryRun(runs: ListedRun[], prefixes: string[], count: number): void {
  const expected = prefixes.flatMap((prefix) => Array.from({ length: count }, (_, index) => `${prefix}_${String(index).padStart(4, '0')}`));
  expect(runs.map((run) => run.runId).sort()).toEqual(expected.sort());
  // Each run: input, two clock reads and a draw around a read tool, a note, a write tool, a decision.
  expect(runs.filter((run) => run.status !== 'complete' || run.eventCount !== 8)).toEqual([]);
}

describe('retrial server with recorder processes', () => {
  it('takes 8 recorder processes sending at once: every run is stored complete and verify is clean', async () => {
    const database = join(directory, 'fleet.db');
    const collector = await startCollectorProcess(database, { token: TOKEN });
    started.push(collector);
    const prefixes = Array.from({ length: 8 }, (_, index) => `run_fleet${index}`);
    const recorders = prefixes.map((prefix) => startRecorderProcess({ url: collector.url, token: TOKEN, prefix, count: 15 }));
    started.push(...recorders);
    for (const recorder of recorders)
      expect(await finished(recorder)).toMatchObject({ runsDegraded: 0, eventsDropped: 0, unsentBatches: 0, lastFailure: null });
    collector.child.kill('SIGTERM');
    expect(await collector.exited).toBe(0);

    const verify = await runCli(['verify', '--db', database]);
    expect(verify.stdout).toMatch(/^OK: 120 runs, /m);
    expect(verify.status).toBe(0);
    expectEveryRun(await storedRuns(database), prefixes, 15);
  }, 300_000);

  it('loses nothing when the collector is SIGKILLed and restarted while 4 recorders send', async () => {
    const database = join(directory, 'restart.db');
    const first = await startCollectorProcess(database, { token: TOKEN });
    started.push(first);
    const prefixes = Array.from({ length: 4 }, (_, index) => `run_restart${index}`);
    const count = 30;
    const recorders = prefixes.map((prefix) => startRecorderProcess({ url: first.url, token: TOKEN, prefix, count, pauseMs: 15 }));
    started.push(...recorders);
    // Killed while every recorder is mid-way: some of each one's runs are in the store, more are coming.
    for (const recorder of recorders) await recorder.waitFor(/recorded \S+_0003\n/);
    first.child.kill('SIGKILL');
    await first.exited;
    // The agents go on recording while nothing listens: their batches wait in memory.
    for (const recorder of recorders) await recorder.waitFor(/recorded \S+_0010\n/);
    const second = await startCollectorProcess(database, { port: first.port, token: TOKEN });
    started.push(second);
    for (const recorder of recorders)
      expect(await finished(recorder)).toMatchObject({ runsDegraded: 0, eventsDropped: 0, unsentBatches: 0, lastFailure: null });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const verify = await runCli(['verify', '--db', database]);
    expect(verify.stdout).toMatch(new RegExp(`^OK: ${4 * count} runs, `, 'm'));
    expect(verify.status).toBe(0);
    expectEveryRun(await storedRuns(database), prefixes, count);
  }, 300_000);
});
