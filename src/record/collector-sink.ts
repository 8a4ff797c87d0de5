import type { IncompleteMark, WriteBatch } from '../store/index.ts';
import { COLLECTOR_BATCHES_PATH, type CollectorErrorBody, type CollectorItem, toWireBatch } from './collector-wire.ts';
import { originals } from './patch-globals.ts';
import { OUTBOX_FULL_CODE, type RecordingSink } from './recording-sink.ts';
import { runOutsideScope } from './run-scope.ts';

/** How a recorder reaches a collector (`retrial server`) instead of a store. */
export interface CollectorOptions {
  /** The collector's base URL, e.g. http://collector.internal:7778. Default RETRIAL_URL. */
  url?: string;
  /** Its token, sent as `Authorization: Bearer`. Default RETRIAL_TOKEN. */
  token?: string;
  /**
   * Most bytes of batches (about their JSON size) kept in memory while the collector does not take
   * them (down, restarting, unreachable). A run whose batch would pass it stops recording
   * (`buffer-full`) and is marked `incomplete`; what is already kept is still sent. Default 64 MB.
   */
  maxUnsentBytes?: number;
  /** Largest request body sent, in bytes; a larger batch is sent alone. Default 4 MB. */
  maxRequestBytes?: number;
  /** How long one request may take before it is given up and sent again, ms. Default 30,000. */
  requestTimeoutMs?: number;
  /**
   * How long `rec.flush()` waits for the collector while it acknowledges nothing, ms; then it
   * resolves and the batches stay in memory, still being sent. Default 30,000.
   */
  flushTimeoutMs?: number;
}

export const COLLECTOR_DEFAULTS = {
  maxUnsentBytes: 64 * 1024 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  flushTimeoutMs: 30_000,
} as const;

/** Backoff between tries while the collector is unreachable: from the first delay, doubling, up to the last, each with jitter. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;
/** About the JSON size of a mark. */
const MARK_BYTES = 2_000;

export interface CollectorSinkOptions extends Required<Omit<CollectorOptions, 'token'>> {
  token: string | undefined;
  /** The collector refused a run's batch for good: the recorder stops and marks the run. */
  onRefused: (runId: string, reason: string) => void;
  fetch?: typeof fetch;
}

type OutboxItem = { type: 'write'; batch: WriteBatch; bytes: number } | { type: 'mark'; mark: IncompleteMark; bytes: number };

/** What one try to send came to. */
type SendOutcome = { ok: true } | { ok: false; status: number | null; message: string; body?: CollectorErrorBody };

/** About the JSON size of a batch, for the outbox's cap: the bulk is event texts and blobs. */
function batchBytes(batch: WriteBatch): number {
  let bytes = 200 + batch.runsStarted.length * 1000 + batch.decisions.length * 600 + batch.runsEnded.length * 400;
  for (const append of batch.appends) for (const event of append.events) bytes += event.json.length * 1.1 + 200;
  for (const blob of batch.blobs) bytes += blob.data.byteLength * (blob.encoding === 'json' ? 1.1 : 1.34) + 100;
  return Math.ceil(bytes);
}

function sizeOf(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

function runIdsOf(item: OutboxItem): string[] {
  if (item.type === 'mark') return [item.mark.record.header.runId];
  const ids = new Set<string>();
  for (const { run } of item.batch.runsStarted) ids.add(run.header.runId);
  for (const { runId } of item.batch.appends) ids.add(runId);
  for (const { runId } of item.batch.decisions) ids.add(runId);
  for (const { runId } of item.batch.runsEnded) ids.add(runId);
  return [...ids];
}

/** The batch without these runs' parts; blobs stay, as other runs may reference them. */
function withoutRuns(batch: WriteBatch, runIds: ReadonlySet<string>): WriteBatch {
  return {
    runsStarted: batch.runsStarted.filter(({ run }) => !runIds.has(run.header.runId)),
    appends: batch.appends.filter(({ runId }) => !runIds.has(runId)),
    blobs: batch.blobs,
    decisions: batch.decisions.filter(({ runId }) => !runIds.has(runId)),
    runsEnded: batch.runsEnded.filter(({ runId }) => !runIds.has(runId)),
  };
}

function toWire(item: OutboxItem): CollectorItem {
  return item.type === 'write' ? { type: 'write', batch: toWireBatch(item.batch) } : { type: 'mark', mark: item.mark };
}

/**
 * A sink that sends the recorder's batches to a collector. `write` only takes a batch into the
 * outbox, so the agent never waits for the network; one request at a time carries the outbox's
 * oldest batches, in order, and a batch leaves the outbox only when the collector acknowledged it.
 * A collector that is down or restarting is retried with backoff and jitter for as long as it
 * takes; the outbox is capped (maxUnsentBytes). A batch sent twice (its acknowledgement lost) is
 * recognised by the collector and accepted again.
 */
export function createCollectorSink(options: CollectorSinkOptions): RecordingSink {
  const endpoint = new URL(COLLECTOR_BATCHES_PATH, options.url.endsWith('/') ? options.url : `${options.url}/`).toString();
  const baseFetch = options.fetch ?? globalThis.fetch;
  const outbox: OutboxItem[] = [];
  let unsentBytes = 0;
  let sending = false;
  /** Why the latest try to send failed, while the collector is not taking batches: said when the outbox is full. */
  let lastTry: string | undefined;
  /** Callers of settle(); resolved with true when the outbox empties, false when the collector acknowledged nothing for flushTimeoutMs. */
  const waiters = new Set<(drained: boolean) => void>();
  let stallTimer: NodeJS.Timeout | undefined;

  function add(item: OutboxItem): void {
    outbox.push(item);
    unsentBytes += item.bytes;
    if (!sending) runOutsideScope(startPump);
  }

  /** Sends in the background; a bug of ours there must not become an unhandled rejection in the agent's process. */
  function startPump(): void {
    pump().catch((error: unknown) => {
      lastTry = `the recorder's sender failed: ${error instanceof Error ? error.message : String(error)}`;
      // What is left is sent again on the next batch.
    });
  }

  function remove(count: number): void {
    for (const item of outbox.splice(0, count)) unsentBytes -= item.bytes;
  }

  function armStallTimer(): void {
    if (stallTimer) clearTimeout(stallTimer);
    stallTimer = undefined;
    if (waiters.size === 0) return;
    if (outbox.length === 0) {
      for (const resolve of [...waiters]) resolve(true);
      return;
    }
    // Ref'd: a process awaiting rec.flush() stays alive to send what it recorded, up to this long.
    stallTimer = setTimeout(() => {
      for (const resolve of [...waiters]) resolve(false);
    }, options.flushTimeoutMs);
  }

  /** Items from the front that fit one request (always at least one). */
  function requestSize(singly: boolean): number {
    if (singly) return 1;
    let count = 0;
    let bytes = 0;
    for (const item of outbox) {
      if (count > 0 && bytes + item.bytes > options.maxRequestBytes) break;
      bytes += item.bytes;
      count++;
    }
    return count;
  }

  async function post(body: string): Promise<SendOutcome> {
    try {
      const response = await baseFetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        body,
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const text = await response.text();
      if (response.ok) return { ok: true };
      let parsed: CollectorErrorBody | undefined;
      try {
        parsed = JSON.parse(text) as CollectorErrorBody;
      } catch {
        parsed = undefined;
      }
      const message = parsed?.error?.message ?? (text.slice(0, 200) || response.statusText);
      return { ok: false, status: response.status, message, ...(parsed ? { body: parsed } : {}) };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, status: null, message: cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error)) };
    }
  }

  /** Gives up on items: their runs stop and are marked (marks themselves are only dropped). */
  function refuse(items: readonly OutboxItem[], reason: string): void {
    const runIds = new Set(items.flatMap((item) => (item.type === 'write' ? runIdsOf(item) : [])));
    for (const runId of runIds) refuseRun(runId, reason);
  }

  /** Stops sending a run: its parts leave every batch still waiting, and the recorder marks it. */
  function refuseRun(runId: string, reason: string): void {
    const runIds = new Set([runId]);
    for (const [index, item] of outbox.entries()) {
      if (item.type !== 'write') continue;
      const batch = withoutRuns(item.batch, runIds);
      const bytes = batchBytes(batch);
      unsentBytes += bytes - item.bytes;
      outbox[index] = { type: 'write', batch, bytes };
    }
    try {
      options.onRefused(runId, reason);
    } catch {
      // The recorder's own handler; nothing here may reach the agent.
    }
  }

  async function pump(): Promise<void> {
    sending = true;
    let attempt = 0;
    let singly = false;
    try {
      while (outbox.length > 0) {
        const count = requestSize(singly);
        const items = outbox.slice(0, count);
        let body: string;
        try {
          body = JSON.stringify({ items: items.map(toWire) });
        } catch (error) {
          remove(count);
          refuse(items, `its batch could not be encoded for the collector: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
        const outcome = await post(body);
        if (outcome.ok) {
          lastTry = undefined;
          remove(count);
          attempt = 0;
          singly = false;
          armStallTimer();
          continue;
        }
        const { status, message } = outcome;
        if (status === null || status >= 500 || status === 429 || status === 408) {
          // Down, restarting, overloaded or unreachable: everything stays, and is sent again.
          lastTry = status === null ? message : `${status} ${message}`;
          const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(attempt++, 10));
          await new Promise<void>((resolve) => setTimeout(resolve, delay * (0.5 + originals.mathRandom() * 0.5)).unref());
          continue;
        }
        if (status === 413 && count > 1) {
          singly = true;
          continue;
        }
        if ((status === 409 || status === 422) && outcome.body) {
          // Items before the failing one are in the store; of the failing one, the runs named were refused.
          const accepted = Math.min(count, Math.max(0, outcome.body.acceptedItems ?? 0));
          remove(accepted);
          const failingRuns = new Set(outbox[0] ? runIdsOf(outbox[0]) : []);
          const runs = (outcome.body.runs ?? []).filter(({ runId }) => failingRuns.has(runId));
          if (runs.length > 0) {
            for (const run of runs) refuseRun(run.runId, `the collector refused the run's batch: ${run.message}`);
            armStallTimer();
            continue;
          }
          const failing = outbox.slice(0, 1);
          remove(1);
          refuse(failing, `the collector refused the run's batch (${status}): ${message}`);
          armStallTimer();
          continue;
        }
        // A wrong token, a body the collector cannot read: sending these again would only fail again.
        remove(count);
        refuse(items, `the collector at ${options.url} refused the batch (${status}): ${message}`);
        armStallTimer();
      }
    } finally {
      sending = false;
      armStallTimer();
    }
  }

  return {
    async write(batch) {
      const bytes = batchBytes(batch);
      if (outbox.length > 0 && unsentBytes + bytes > options.maxUnsentBytes) {
        throw Object.assign(
          new Error(
            `the collector at ${options.url} has not taken the last ${outbox.length} batches (${sizeOf(unsentBytes)}, maxUnsentBytes ${sizeOf(options.maxUnsentBytes)}${lastTry ? `; last try: ${lastTry}` : ''}); later events of the run are dropped`,
          ),
          { code: OUTBOX_FULL_CODE },
        );
      }
      add({ type: 'write', batch, bytes });
    },
    async markIncomplete(mark) {
      // A little headroom past the cap for marks; beyond it they wait in the recorder (marksPending) and come again.
      if (unsentBytes + MARK_BYTES > options.maxUnsentBytes * 1.25)
        throw Object.assign(new Error(`the collector at ${options.url} has not taken the last ${outbox.length} batches`), { code: OUTBOX_FULL_CODE });
      // Behind the run's own batches, so the collector marks what it holds of the run once they land.
      add({ type: 'mark', mark, bytes: MARK_BYTES });
      return 'marked';
    },
    settle() {
      if (outbox.length === 0 && !sending) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (drained: boolean) => {
          waiters.delete(done);
          if (waiters.size === 0 && stallTimer) {
            clearTimeout(stallTimer);
            stallTimer = undefined;
          }
          resolve(drained);
        };
        waiters.add(done);
        if (!stallTimer) armStallTimer();
      });
    },
    unsent: () => ({ batches: outbox.length, bytes: unsentBytes }),
  };
}
