import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRecorder, type RecordingFailure } from '../../src/record/index.ts';
import { openStore, type Store, verifyStore } from '../../src/store/index.ts';
import { type OwnPostgres, startOwnPostgres } from '../fixtures/own-postgres.ts';

/**
 * A PostgreSQL server restarted under a running recorder (on a throwaway cluster of the test's
 * own, never the shared one): the agent's calls all return as if nothing happened; runs whose
 * writes met the outage are reported as `write` failures of the whole store and stored
 * `incomplete` once the server is back; runs after the restart are recorded whole through the same
 * store object, whose pool reconnects by itself.
 */

let own: OwnPostgres;
beforeAll(async () => {
  own = await startOwnPostgres();
  await own.sql('CREATE DATABASE retrial');
}, 120_000);
afterAll(async () => {
  await own?.destroy();
});

it('survives a restart of the server while recording, without blocking the agent or needing a new store', async () => {
  const store: Store = await openStore(own.url('retrial'));
  const failures: RecordingFailure[] = [];
  const rec = createRecorder({
    store,
    agent: 'restart-agent',
    flushIntervalMs: 5,
    retryIntervalMs: 50,
    redaction: { salt: 'restart-test-salt' },
    onRecordingError: (failure) => failures.push(failure),
  });
  const lookup = rec.tool('lookup', async (id: number) => ({ id, balance: id * 3 }), { effect: 'read' });
  const charge = rec.tool('charge', async (id: number) => ({ charged: id }));
  const returned: number[] = [];
  let index = 0;
  const recordOne = async () => {
    const runIndex = index++;
    const output = await rec.run(
      { runIndex },
      async () => {
        const account = await lookup(runIndex);
        await charge(account.id);
        rec.decide({ type: 'restart.refund', subject: `S-${runIndex}`, value: 'approve', amount: runIndex });
        return runIndex;
      },
      { runId: `run_restart_${String(runIndex).padStart(4, '0')}` },
    );
    returned.push(output);
  };

  for (let count = 0; count < 5; count++) await recordOne();
  await own.stop();
  // While the server is down: the agent goes on, each run's write fails at once (nothing listens).
  for (let count = 0; count < 5; count++) await recordOne();
  await own.start();
  const afterRestart = index;
  for (let count = 0; count < 5; count++) await recordOne();
  await rec.flush();
  // The `incomplete` marks of the runs the outage cut wait for the store and are written by the retry timer.
  while (rec.health().marksPending > 0) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await rec.flush();
  }

  expect(returned).toEqual(Array.from({ length: 15 }, (_, position) => position));
  expect(failures.length).toBeGreaterThan(0);
  for (const failure of failures) {
    expect(failure.kind).toBe('write');
    expect(failure.reason).toMatch(/cannot be reached or closed the connection/);
  }
  const statuses = new Map((await store.listRuns({ order: 'asc' })).map((run) => [run.runId, run.status]));
  for (let runIndex = 0; runIndex < 15; runIndex++) {
    const status = statuses.get(`run_restart_${String(runIndex).padStart(4, '0')}`);
    if (runIndex < 5 || runIndex >= afterRestart) expect(status).toBe('complete');
    else expect(status).toBe('incomplete');
  }
  const problems = [];
  for await (const verification of verifyStore(store)) problems.push(...verification.problems);
  expect(problems).toEqual([]);
  await store.close();
}, 300_000);
