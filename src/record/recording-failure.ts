import { originals } from './patch-globals.ts';

/**
 * Why a run could not be recorded in full. The agent never sees these: its calls return what they
 * return, and the run is stored as `incomplete` with `reason` in its ending's error.
 * - `value`: something the agent handed over or received has no faithful JSON form (NaN, a BigInt,
 *   a cycle, too deep or too large), or an event of it could not be built from such a value.
 * - `write`: the store refused the run's events (disk full, store closed, I/O error), or another
 *   process held its write lock longer than the recorder's maxLockWaitMs, or the collector
 *   refused them (a wrong token, a batch it found invalid).
 * - `buffer-full`: the store fell behind and the recorder's buffer cap was reached, or the
 *   collector could not be reached and what waits for it reached maxUnsentBytes.
 * - `internal`: a bug of the recorder.
 */
export interface RecordingFailure {
  runId: string;
  kind: 'value' | 'write' | 'buffer-full' | 'internal';
  /** One line, e.g. "tool lookup_account result: NaN at $.score". */
  reason: string;
}

/** Counters of the recorder's failure path, for a service's health check. */
export interface RecorderHealth {
  /** Runs whose recording stopped early (each reported once through onRecordingError). */
  runsDegraded: number;
  /** Events not recorded because their run had stopped recording. */
  eventsDropped: number;
  /** Degraded runs stored as `incomplete` with their reason. */
  runsMarkedIncomplete: number;
  /** Degraded runs whose `incomplete` mark waits for the store to accept writes again. */
  marksPending: number;
  /** Events and approximate bytes waiting to be written now. */
  bufferedEvents: number;
  bufferedBytes: number;
  /**
   * Batches a collector has not acknowledged yet (RETRIAL_URL), kept in memory and sent again until
   * it does, and their approximate bytes; a run whose batch would pass maxUnsentBytes stops
   * (`buffer-full`). Zero when recording into a store.
   */
  unsentBatches: number;
  unsentBytes: number;
  /** The latest failure, with its time (ISO-8601 wall clock). */
  lastFailure: (RecordingFailure & { at: string }) | null;
}

/** How often the default reporter repeats one cause. */
const REPEAT_AFTER_MS = 60_000;
const MAX_CAUSES = 256;

/**
 * The reporter used when no onRecordingError hook is given: one line on stderr per distinct
 * cause (run ids and numbers stripped), repeated at most once a minute with a count of the runs
 * it hit meanwhile. Never throws.
 */
export function createStderrReporter(write: (line: string) => void = (line) => process.stderr.write(line)): (failure: RecordingFailure) => void {
  const causes = new Map<string, { lastAt: number; since: number }>();
  return (failure) => {
    try {
      const cause = `${failure.kind}:${failure.reason.replace(/run_[0-9a-z]+/gi, 'run').replace(/\d+/g, 'N')}`;
      const now = originals.dateNow();
      const seen = causes.get(cause);
      if (seen && now - seen.lastAt < REPEAT_AFTER_MS) {
        seen.since++;
        return;
      }
      if (!seen && causes.size >= MAX_CAUSES) causes.delete(causes.keys().next().value as string);
      const more = seen?.since ? ` (and ${seen.since} more runs since the last warning)` : '';
      causes.set(cause, { lastAt: now, since: 0 });
      write(`retrial: run ${failure.runId} is not fully recorded (${failure.kind}): ${failure.reason}${more}; the agent is not affected.\n`);
    } catch {
      // A reporter that cannot write has nowhere left to report to.
    }
  };
}
