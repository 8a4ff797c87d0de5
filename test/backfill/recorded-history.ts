import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RecordedHistory, recordDemoHistory, startSimulatorServer } from '../../src/demo/index.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/index.ts';

export interface RecordedStore {
  store: SqliteStore;
  /** The SQLite file, for a second connection (another process, as far as SQLite can tell). */
  path: string;
  history: RecordedHistory;
  /** Closes the store and removes its directory. */
  dispose(): Promise<void>;
}

/** A demo history recorded through the real recorder into a SQLite file in a fresh temp directory. */
export async function recordHistoryIntoTempStore(options: { runs: number; seed: string; redactionSalt: string }): Promise<RecordedStore> {
  const directory = mkdtempSync(join(tmpdir(), 'retrial-backfill-'));
  const store = await openSqliteStore(join(directory, 'history.db'));
  const simulator = await startSimulatorServer({ port: 0, seed: options.seed });
  try {
    const history = await recordDemoHistory({
      store,
      modelBaseUrl: `${simulator.url}/v1`,
      runs: options.runs,
      redactionSalt: options.redactionSalt,
      endAt: Date.UTC(2026, 10, 20),
    });
    return {
      store,
      path: join(directory, 'history.db'),
      history,
      async dispose() {
        await store.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } finally {
    await simulator.close();
  }
}
