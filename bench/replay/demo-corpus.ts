/**
 * Records the corpus the replay benchmark replays: the demo's support tickets, each one run
 * recorded by the real recorder into a fresh SQLite file, against the model simulator.
 *
 * Why `recordDemoHistory` and not a hand-made agent: the figure the issue asks about is "replays
 * of a 6-step run", and the demo's runs are the realistic ones this project ships (real `openai`
 * client, streaming and non-streaming calls, function tools, a retrieval, decisions). The
 * simulator runs in its own process (bench/record/simulator-process.ts) so its work stays off the
 * event loop being measured in the later arms.
 */
import { statSync } from 'node:fs';
import type { ScheduledTicket } from '../../src/demo/index.ts';
import { recordDemoHistory } from '../../src/demo/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { nowMs } from '../record/percentiles.ts';

export const REDACTION_SALT = 'bench-salt';

export interface CorpusRun {
  runId: string;
  /** The ticket, its account as it was when recorded, and its simulated arrival time. */
  scheduled: ScheduledTicket;
}

export interface Corpus {
  dbPath: string;
  runs: CorpusRun[];
  failedRuns: number;
  recordMs: number;
  fileBytes: number;
}

export async function recordCorpus(options: { dbPath: string; simulatorUrl: string; runs: number }): Promise<Corpus> {
  const store = await openSqliteStore(options.dbPath);
  const started = nowMs();
  try {
    const history = await recordDemoHistory({
      store,
      modelBaseUrl: `${options.simulatorUrl}/v1`,
      runs: options.runs,
      redactionSalt: REDACTION_SALT,
    });
    // Runs are packed in the background once they end; the corpus is what replay will read.
    await store.idle();
    const recordMs = nowMs() - started;
    const runs = history.runIds.map((runId, index) => ({ runId, scheduled: history.world.tickets[index] as ScheduledTicket }));
    await store.close();
    // After the last connection closes, SQLite has checkpointed the write-ahead log into the file.
    return { dbPath: options.dbPath, runs, failedRuns: history.failedRuns, recordMs, fileBytes: statSync(options.dbPath).size };
  } finally {
    await store.close();
  }
}
