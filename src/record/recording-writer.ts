import type { RunWriter, WriteBatch } from '../store/index.ts';
import { createBlob, plainBlob, type RunEnding, type RunRecord, sealRun } from '../tape/index.ts';
import { originals } from './patch-globals.ts';
import type { RecorderHealth, RecordingFailure } from './recording-failure.ts';
import { OUTBOX_FULL_CODE, type RecordingSink } from './recording-sink.ts';
import type { Redactor } from './redaction.ts';
import { runOutsideScope } from './run-scope.ts';
import { RunTapeWriter } from './run-tape-writer.ts';

/** What createRecordingWriter needs from the recorder's options (defaults applied there). */
export interface RecordingWriterOptions {
  /** The store, or a collector's outbox. */
  sink: RecordingSink;
  writer: RunWriter;
  redactor: Redactor;
  flushIntervalMs: number;
  maxBufferedEvents: number;
  maxPendingEvents: number;
  maxPendingBytes: number;
  retryIntervalMs: number;
  /** How long writes may wait, in memory, for a store whose write lock another process holds; past that the runs stop (`write`). */
  maxLockWaitMs: number;
  report: (failure: RecordingFailure) => void;
}

/**
 * The recorder's way to the store: runs' buffers, flushes and the failure path. Each run's events
 * are built in their own try and written with the others in one batch; a run that cannot be
 * recorded stops alone, its further events are dropped and counted, and it is stored `incomplete`
 * with its reason once the store takes writes. Nothing here throws or rejects.
 */
export interface RecordingWriter {
  /** A new run: its tape, and its header queued for the next flush. */
  startRun(record: RunRecord): RunTapeWriter;
  /** The run's function returned or threw; its ending goes with the next flush. */
  endRun(tape: RunTapeWriter, ending: PendingEnding['ending']): void;
  /** Stops recording a run (the first cause wins) and reports it once. */
  stopRun(tape: RunTapeWriter, kind: RecordingFailure['kind'], reason: string, dropPending: boolean): void;
  /** Resolves once everything pushed so far is durable or given up on. Never rejects. */
  flush(): Promise<void>;
  /**
   * The sink gave up on a run after `write` had taken its batch (a collector refused it): the run
   * stops like one the store refused, and is marked `incomplete`.
   */
  refusedLater(runId: string, reason: string): void;
  health(): RecorderHealth;
}

export interface PendingEnding {
  tape: RunTapeWriter;
  ending: Omit<RunEnding, 'output'> & { output: unknown };
}

/** Degraded runs whose marks wait for a store that refuses writes; beyond this the oldest are left to the next open. */
const MAX_PENDING_MARKS = 10_000;
/** Ended runs remembered (their start records) so a collector's late refusal can still mark them. */
const MAX_ENDED_REMEMBERED = 10_000;

/**
 * How long one write waits for another process's write lock, ms: SQLite waits on the event loop,
 * so the recorder asks for a few ms and waits out a longer lock asynchronously (waitOutLock).
 */
export const RECORDER_LOCK_WAIT_MS = 5;
/** Backoff between writes that met a lock: from the first delay, doubling, up to the last. */
const LOCK_RETRY_FIRST_MS = 5;
const LOCK_RETRY_MAX_MS = 200;

/** The write lock is held elsewhere: transient, unlike the other store-wide refusals. */
function isLocked(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code)) return true;
    if (/database (table )?is locked/i.test(cause.message)) return true;
  }
  return false;
}

/** Errors of the whole store rather than of one run's events: retrying run by run would only fail again. */
function isStoreWide(error: unknown): boolean {
  const codes: string[] = [];
  for (let cause: unknown = error; cause instanceof Error && codes.length < 5; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === OUTBOX_FULL_CODE) return true;
    if (typeof code === 'string') codes.push(code);
    if (/has been closed|not open|readonly|read-only|disk is full|disk I\/O|database is locked/i.test(cause.message)) return true;
  }
  // STORE_*: a networked store that cannot be reached (a restart, a failover), refuses the
  // credentials or a privilege, or is newer than this code; the store's own codes (errors.ts).
  return codes.some(
    (code) =>
      /^SQLITE_(FULL|BUSY|LOCKED|IOERR|READONLY|CANTOPEN|NOMEM|PERM|CORRUPT|NOTADB)/.test(code) ||
      /^(ENOSPC|EIO|EROFS|EACCES)$/.test(code) ||
      /^STORE_(UNAVAILABLE|AUTH|PERMISSION|SCHEMA_NEWER|MISSING_DATABASE)$/.test(code),
  );
}

function isOutboxFull(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === OUTBOX_FULL_CODE;
}

function sinkHealth(sink: RecordingSink): Pick<RecorderHealth, 'unsentBatches' | 'unsentBytes'> {
  const { batches, bytes } = sink.unsent();
  return { unsentBatches: batches, unsentBytes: bytes };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function mergeParts(parts: readonly { batch: WriteBatch }[]): WriteBatch {
  const merged: WriteBatch = { runsStarted: [], appends: [], blobs: [], decisions: [], runsEnded: [] };
  const blobs = new Map<string, WriteBatch['blobs'][number]>();
  for (const { batch } of parts) {
    merged.runsStarted.push(...batch.runsStarted);
    merged.appends.push(...batch.appends);
    for (const blob of batch.blobs) blobs.set(blob.hash, blob);
    merged.decisions.push(...batch.decisions);
    merged.runsEnded.push(...batch.runsEnded);
  }
  merged.blobs = [...blobs.values()];
  return merged;
}

export function createRecordingWriter(options: RecordingWriterOptions): RecordingWriter {
  const { sink, writer, redactor, flushIntervalMs, maxBufferedEvents, maxPendingEvents, maxPendingBytes, retryIntervalMs, maxLockWaitMs, report } = options;
  const started: WriteBatch['runsStarted'] = [];
  const active = new Set<RunTapeWriter>();
  const endings: PendingEnding[] = [];
  /** Degraded runs that ended, waiting to be stored as `incomplete` with their reason, by run id. */
  const marks = new Map<string, { record: RunRecord; ending: RunEnding }>();
  const knownBlobs = new Set<string>();
  /** Start records of ended runs, by id, oldest first (for refusedLater); null for a run already degraded. */
  const ended = new Map<string, RunRecord | null>();
  let buffered = 0;
  let pendingEvents = 0;
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  /** When writes first met the store's lock, since the last write that committed (performance.now ms). */
  let lockedSince: number | undefined;
  const health = { runsDegraded: 0, runsMarkedIncomplete: 0, droppedByEndedRuns: 0, lastFailure: null as RecorderHealth['lastFailure'] };

  function onDropped(events: number, bytes: number): void {
    pendingEvents -= events;
    pendingBytes -= bytes;
  }

  function onPush(tape: RunTapeWriter, bytes: number): void {
    buffered++;
    pendingEvents++;
    pendingBytes += bytes;
    if (pendingEvents > maxPendingEvents || pendingBytes > maxPendingBytes) {
      const limit = pendingEvents > maxPendingEvents ? `${maxPendingEvents} events` : `${Math.round(maxPendingBytes / (1024 * 1024))} MB`;
      stopRun(
        tape,
        'buffer-full',
        `more than ${limit} were waiting for the store (maxPendingEvents / maxPendingBytes); later events of the run are dropped`,
        true,
      );
      return;
    }
    if (buffered >= maxBufferedEvents) void flush();
    else if (!timer) timer = runOutsideScope(() => setTimeout(() => void flush(), flushIntervalMs));
  }

  /** Stops recording a run (the first cause wins) and reports it once. Never throws. */
  function stopRun(tape: RunTapeWriter, kind: RecordingFailure['kind'], reason: string, dropPending: boolean): void {
    if (!tape.stop(kind, reason, dropPending)) return;
    health.runsDegraded++;
    noteFailure({ runId: tape.runId, kind, reason });
  }

  function noteFailure(failure: RecordingFailure): void {
    health.lastFailure = { ...failure, at: new originals.Date(originals.dateNow()).toISOString() };
    try {
      // Outside the run: a hook's own clock reads and random draws are not the agent's.
      runOutsideScope(() => report(failure));
    } catch {
      // The hook is the service's; its failure must not reach the agent either.
    }
  }

  /** Resolves once everything pushed so far is durable or given up on. Never rejects. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    chain = chain.then(() =>
      runOutsideScope(flushOnce).catch((error: unknown) => {
        // A bug of the flush itself: every run it held is lost, none is left half-written.
        const reason = `the recorder's flush failed: ${error instanceof Error ? error.message : String(error)}`;
        for (const tape of active) stopRun(tape, 'internal', reason, true);
      }),
    );
    return chain;
  }

  /** What one run contributes to a flush; written with the others, or alone when a shared write fails. */
  interface RunPart {
    tape: RunTapeWriter;
    batch: WriteBatch;
    /** The ending this part writes: if the part cannot be written, the run is marked instead. */
    ending: RunEnding | null;
    /** Events and approximate bytes drained into the part, counted as pending again while it waits for a lock. */
    events: number;
    bytes: number;
  }

  async function flushOnce(): Promise<void> {
    buffered = 0;
    // By tape, not run id: a run id given twice must not mix two runs' parts.
    const parts = new Map<RunTapeWriter, RunPart>();
    const partOf = (tape: RunTapeWriter): RunPart => {
      let part = parts.get(tape);
      if (!part) {
        part = { tape, batch: { runsStarted: [], appends: [], blobs: [], decisions: [], runsEnded: [] }, ending: null, events: 0, bytes: 0 };
        parts.set(tape, part);
      }
      return part;
    };
    // What this flush writes is taken before its first await: a run that starts while a drain
    // awaits (another run's large value sliced over several ticks) has its start in the next
    // flush, so its events and ending must wait for that flush too, not land here without it.
    const startedNow = started.splice(0);
    const activeNow = [...active];
    const endingsNow = endings.splice(0);
    const tapeOf = new Map<RunRecord, RunTapeWriter>();
    for (const tape of activeNow) tapeOf.set(tape.startRecord, tape);
    for (const start of startedNow) {
      const tape = tapeOf.get(start.run);
      if (tape) partOf(tape).batch.runsStarted.push(start);
    }
    for (const tape of activeNow) if (tape.pendingCount > 0) await drainInto(partOf(tape));
    for (const { tape, ending } of endingsNow) {
      const part = partOf(tape);
      if (tape.pendingCount > 0) await drainInto(part);
      active.delete(tape);
      ended.set(tape.runId, tape.failure ? null : tape.startRecord);
      if (ended.size > MAX_ENDED_REMEMBERED) ended.delete(ended.keys().next().value as string);
      health.droppedByEndedRuns += tape.dropped;
      if (!tape.failure) {
        try {
          let output: string | null = null;
          if (ending.output !== undefined) {
            const blob = createBlob(redactor.value(ending.output));
            part.batch.blobs.push(plainBlob(blob.hash, blob.json));
            output = blob.hash;
          }
          const finalEnding: RunEnding = { status: ending.status, output, error: ending.error };
          const head = tape.chainHead;
          part.batch.runsEnded.push({ runId: tape.runId, ending: finalEnding, sealHash: sealRun(head, finalEnding), modelsServed: tape.servedModels() });
          part.ending = finalEnding;
        } catch (error) {
          stopRun(tape, 'value', `run output could not be recorded: ${error instanceof Error ? error.message : String(error)}`, false);
        }
      }
      if (tape.failure) queueMark(tape);
    }
    const list = [...parts.values()].filter(({ batch }) => batch.runsStarted.length || batch.appends.length || batch.runsEnded.length);
    if (list.length) await writeParts(list);
    if (knownBlobs.size > 200_000) knownBlobs.clear();
    if (marks.size) await writeMarks();
  }

  /** Builds a run's pending events into its part; an event that cannot be built stops the run there. */
  async function drainInto(part: RunPart): Promise<void> {
    const { tape } = part;
    part.events += tape.pendingCount;
    part.bytes += tape.pendingBytes;
    pendingEvents -= tape.pendingCount;
    pendingBytes -= tape.pendingBytes;
    const drained = await tape.drain(knownBlobs);
    if (drained.events.length) part.batch.appends.push({ runId: tape.runId, events: drained.events, headHash: drained.headHash });
    for (const [hash, json] of drained.blobs) part.batch.blobs.push(typeof json === 'string' ? plainBlob(hash, json) : json);
    part.batch.decisions.push(...drained.decisions);
    if (drained.failure) {
      health.runsDegraded++;
      noteFailure({ runId: tape.runId, ...drained.failure });
    }
  }

  /**
   * Writes the parts in one batch. While another process holds the store's write lock, the batch
   * waits in memory and is tried again (waitOutLock). If it fails for another reason of the whole
   * store (full, closed, I/O), or the lock outlasts maxLockWaitMs, every run in it stops; otherwise
   * each part is written alone, so the one a store refuses stops and the others commit.
   */
  async function writeParts(list: RunPart[]): Promise<void> {
    const merged = mergeParts(list);
    let held = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await sink.write(merged, { lockWaitMs: RECORDER_LOCK_WAIT_MS });
          lockedSince = undefined;
          for (const part of list) committed(part);
          return;
        } catch (error) {
          if (isLocked(error)) {
            if (!held) {
              // Still in memory: counted against maxPendingEvents / maxPendingBytes like unwritten events.
              held = true;
              for (const part of list) {
                pendingEvents += part.events;
                pendingBytes += part.bytes;
              }
            }
            if (await waitOutLock(attempt)) continue;
            const outlasted = new Error(
              `${describe(error).replace(/\.$/, '')}: another process held its write lock for more than ${maxLockWaitMs} ms (maxLockWaitMs)`,
            );
            for (const part of list) refusedByStore(part, outlasted);
            return;
          }
          if (isOutboxFull(error)) {
            // The collector cannot be reached and what waits for it reached its cap: like a full buffer.
            for (const part of list) {
              stopRun(part.tape, 'buffer-full', describe(error), true);
              if (part.ending) queueMark(part.tape);
            }
            return;
          }
          if (list.length === 1 || isStoreWide(error)) {
            for (const part of list) refusedByStore(part, error);
            return;
          }
          break;
        }
      }
    } finally {
      if (held)
        for (const part of list) {
          pendingEvents -= part.events;
          pendingBytes -= part.bytes;
        }
    }
    for (const part of list) {
      try {
        await sink.write(part.batch, { lockWaitMs: RECORDER_LOCK_WAIT_MS });
        committed(part);
      } catch (error) {
        refusedByStore(part, error);
      }
    }
  }

  /**
   * Waits before the next try of a write that met the lock, off the event loop's path. False once
   * the lock has lasted maxLockWaitMs since writes first met it: a lock that outlasts it once is
   * not waited out again for later runs until a write commits.
   */
  async function waitOutLock(attempt: number): Promise<boolean> {
    const now = originals.performanceNow();
    lockedSince ??= now;
    const left = lockedSince + maxLockWaitMs - now;
    if (left <= 0) return false;
    const delay = Math.min(LOCK_RETRY_MAX_MS, LOCK_RETRY_FIRST_MS * 2 ** Math.min(attempt, 10), left);
    await new Promise<void>((resolve) => runOutsideScope(() => setTimeout(resolve, delay)));
    return true;
  }

  function committed(part: RunPart): void {
    for (const blob of part.batch.blobs) knownBlobs.add(blob.hash);
  }

  function refusedByStore(part: RunPart, error: unknown): void {
    const message = describe(error);
    stopRun(part.tape, 'write', `the store refused the run's events: ${message}`, true);
    if (part.ending) queueMark(part.tape);
  }

  function queueMark(tape: RunTapeWriter): void {
    if (tape.failure) queueMarkOf(tape.startRecord, tape.failure);
  }

  function queueMarkOf(record: RunRecord, failure: { kind: RecordingFailure['kind']; reason: string }): void {
    const ending: RunEnding = {
      status: 'incomplete',
      output: null,
      error: { name: 'RecordingIncomplete', message: redactor.text(`${failure.kind}: ${failure.reason}`) },
    };
    marks.set(record.header.runId, { record, ending });
  }

  function refusedLater(runId: string, reason: string): void {
    // A refused batch may have carried blobs later batches leave out as already sent.
    knownBlobs.clear();
    for (const tape of active)
      if (tape.runId === runId) {
        // Its ending, when it comes, queues the mark.
        stopRun(tape, 'write', reason, true);
        return;
      }
    const record = ended.get(runId);
    // Already stopped and marked (refused for an earlier batch, or degraded before it ended).
    if (record === null) return;
    if (record) ended.set(runId, null);
    health.runsDegraded++;
    noteFailure({ runId, kind: 'write', reason });
    if (record) {
      queueMarkOf(record, { kind: 'write', reason });
      void flush();
    }
  }

  /**
   * Stores degraded runs as `incomplete` with their reason, starting from what the store holds of
   * each (its header may never have landed). While the store refuses, they wait and are tried
   * again on the next flush or after retryIntervalMs.
   */
  async function writeMarks(): Promise<void> {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    for (const [runId, { record, ending }] of marks) {
      try {
        // A run of that id whose header is not ours (an id given twice) is someone else's to end: skipped.
        if ((await sink.markIncomplete({ record, ending, writer }, { lockWaitMs: RECORDER_LOCK_WAIT_MS })) === 'marked') health.runsMarkedIncomplete++;
        marks.delete(runId);
      } catch (error) {
        // The store still refuses: the mark keeps (a header and a line each) for the next try.
        if (isStoreWide(error)) break;
        // This run alone cannot be marked: it stays as the store has it, and the others go on.
        marks.delete(runId);
      }
    }
    if (marks.size > MAX_PENDING_MARKS) for (const runId of [...marks.keys()].slice(0, marks.size - MAX_PENDING_MARKS)) marks.delete(runId);
    if (marks.size) retryTimer = runOutsideScope(() => setTimeout(() => void flush(), retryIntervalMs).unref());
  }

  return {
    startRun(record) {
      const tape = new RunTapeWriter(record, onPush, onDropped);
      started.push({ run: record, writer });
      active.add(tape);
      return tape;
    },
    endRun(tape, ending) {
      endings.push({ tape, ending });
    },
    stopRun,
    flush,
    refusedLater,
    health() {
      let eventsDropped = health.droppedByEndedRuns;
      for (const tape of active) eventsDropped += tape.dropped;
      return {
        runsDegraded: health.runsDegraded,
        eventsDropped,
        runsMarkedIncomplete: health.runsMarkedIncomplete,
        marksPending: marks.size,
        bufferedEvents: pendingEvents,
        bufferedBytes: pendingBytes,
        ...sinkHealth(sink),
        lastFailure: health.lastFailure,
      };
    },
  };
}
