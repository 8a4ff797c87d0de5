import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openPostgresStore, verifyLedger, verifyStore } from '../../src/store/index.ts';
import { createTestDatabase } from '../fixtures/postgres.ts';

/**
 * Issue 15's fleet: eight processes record into one PostgreSQL store at once. No run is lost,
 * duplicated or interleaved (verify checks every chain), the shared policy blob is stored once,
 * and no process sees a failure (a deadlock or a lost race would surface as a degraded run).
 */

const PROCESSES = 8;
const RUNS_EACH = 12;

function recordFleetProcess(url: string, worker: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'test/fixtures/record-fleet.ts'), url, worker, String(RUNS_EACH)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

it(`${PROCESSES} processes record into one store at once: every run accounted for, verify clean, shared blobs stored once`, async () => {
  const database = await createTestDatabase('retrial_t_fleet');
  try {
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, index) => recordFleetProcess(database.url, `w${index}`)));
    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ runsDegraded: 0, eventsDropped: 0, bufferedEvents: 0 });
    }
    const store = await openPostgresStore(database.url);
    try {
      const expected = Array.from({ length: PROCESSES }, (_, worker) =>
        Array.from({ length: RUNS_EACH }, (_, index) => `run_fleet_w${worker}_${String(index).padStart(4, '0')}`),
      ).flat();
      expect((await store.listRunIds()).sort()).toEqual(expected.sort());
      expect(await store.countRuns({ status: 'complete' })).toBe(PROCESSES * RUNS_EACH);
      expect((await store.listDecisions({ type: 'fleet.refund' })).length).toBe(PROCESSES * RUNS_EACH);
      const problems = [];
      let events = 0;
      for await (const verification of verifyStore(store)) {
        events += verification.events;
        problems.push(...verification.problems.map((problem) => ({ runId: verification.runId, ...problem })));
      }
      expect(problems).toEqual([]);
      expect((await verifyLedger(store)).problems).toEqual([]);
      // Every run reads the same policy: one blob for it in the whole store, however many wrote it at once.
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const policyBlobs = await client.query('SELECT count(*)::int AS count FROM blobs WHERE size > 7000');
      await client.end();
      expect(policyBlobs.rows[0].count).toBe(1);
      const stats = await store.stats();
      expect(stats.events).toBe(events);
      expect(stats.runs).toBe(PROCESSES * RUNS_EACH);
    } finally {
      await store.close();
    }
  } finally {
    await database.drop();
  }
}, 600_000);
