/**
 * Records the history the backfill benchmark re-decides: the demo's support tickets, each one run
 * recorded by the real recorder (real `openai` client, streaming and non-streaming calls, tools,
 * decisions) into a fresh SQLite file, against the simulator over loopback HTTP in this process.
 *
 * Recording is setup, not a measured arm: it is timed and printed only so a reader knows what the
 * store holds. The simulator server is closed before the arms run.
 */
import { recordDemoHistory } from '../../src/demo/index.ts';
import { startSimulatorServer } from '../../src/demo/simulator/index.ts';
import type { Store } from '../../src/store/index.ts';
import { nowMs } from '../record/percentiles.ts';

export const REDACTION_SALT = 'bench-salt';
export const DECISION_TYPE = 'refund.category';

export interface RecordedHistory {
  runs: number;
  failedRuns: number;
  recordMs: number;
  /** Window of the tickets' simulated arrival times, [since, until). */
  window: { since: number; until: number };
  /** Decisions in the store by type and value. */
  decisions: Array<{ type: string; value: string; count: number }>;
  fileBytes: number;
}

export async function recordHistory(store: Store, runs: number): Promise<RecordedHistory> {
  const simulator = await startSimulatorServer({ port: 0, seed: 'backfill-bench-history' });
  const started = nowMs();
  try {
    const history = await recordDemoHistory({ store, modelBaseUrl: `${simulator.url}/v1`, runs, redactionSalt: REDACTION_SALT });
    const recordMs = nowMs() - started;
    const stats = await store.stats();
    return {
      runs: history.runIds.length,
      failedRuns: history.failedRuns,
      recordMs,
      window: { since: history.world.startAt, until: history.world.endAt + 1 },
      decisions: stats.decisions,
      fileBytes: stats.fileBytes ?? 0,
    };
  } finally {
    await simulator.close();
  }
}
