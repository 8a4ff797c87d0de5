/**
 * Grows a store with runs of the demo's shape, cloned from recorded runs with new ids and times,
 * through the Store interface only (getRunBundle on the source, importRunBundle on the target), so
 * the same code fills a SQLite file or a PostgreSQL database.
 *
 * What a clone changes, consistently, so `retrial verify` finds it clean: the run id (header, and
 * any string equal to it in the events), the ticket and customer ids (header external ids, the
 * decision subject, any string equal to them in the events), and every time in the source window
 * (header recordedAt, event `at` columns, numbers and ISO-8601 strings inside the events) shifted
 * by a whole number of days, wrapped into the source's 90-day window. Then the chain is hashed
 * again (root, each event, head, seal) and the ledger rows are derived from the new events the way
 * the recorder derives them.
 *
 * What a clone keeps: every blob ref. Blobs are content-addressed and the clones share their
 * source run's blobs (messages, tool results, wire bodies), which still name the source's ids and
 * times; so bytes per synthesized run count the events, the run's pack and the index rows, not a
 * fresh copy of the conversation (bench/scale/README.md reports the demo's own bytes per run
 * beside it). A clone verifies; it is not meant to be replayed against the agent's code.
 */

import { deriveLedgerRows, type RunBundle, type Store, type StoredEvent } from '../../src/store/index.ts';
import { canonicalJson, chainNext, chainRoot, type RunHeader, sealRun } from '../../src/tape/index.ts';

const DAY = 86_400_000;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** A recorded run the clones are made from, read once. */
export interface SourceRun {
  bundle: RunBundle;
  /** Values of the header's external ids. */
  ticket: string | undefined;
  customer: string | undefined;
}

export interface SourceWindow {
  /** Earliest and latest run start of the source, ms; clones land inside [startAt, startAt + days). */
  startAt: number;
  endAt: number;
}

/** Reads the source's unforked runs (a fork names its parent, which a clone would not have). */
export async function readSourceRuns(source: Store): Promise<{ runs: SourceRun[]; window: SourceWindow }> {
  const runs: SourceRun[] = [];
  for (const runId of await source.listRunIds()) {
    const bundle = await source.getRunBundle(runId);
    if (bundle.run.header.fork !== undefined) continue;
    runs.push({ bundle, ticket: bundle.run.header.externalIds.ticket, customer: bundle.run.header.externalIds.customer });
  }
  const starts = runs.map((run) => Date.parse(run.bundle.run.header.recordedAt));
  const startAt = Math.floor(Math.min(...starts) / DAY) * DAY;
  return { runs, window: { startAt, endAt: Math.max(...starts) + DAY } };
}

/** Deterministic day offset of clone `index` (a multiplicative hash, so neighbours spread out). */
function dayShift(index: number, days: number): number {
  return (Math.imul(index + 1, 2654435761) >>> 0) % days;
}

/**
 * Clone number `index` of a source run. Customers repeat (one per `customers` clones), so a
 * subject search finds a handful of runs at every size, as a real customer's history would.
 */
export function cloneRun(source: SourceRun, index: number, window: SourceWindow, customers = 25_000): RunBundle {
  const { run, events } = source.bundle;
  const days = Math.max(1, Math.round((window.endAt - window.startAt) / DAY));
  const span = days * DAY;
  const oldStart = Date.parse(run.header.recordedAt);
  const newStart = window.startAt + ((oldStart - window.startAt + dayShift(index, days) * DAY) % span);
  const delta = newStart - oldStart;
  const inWindow = (ms: number) => ms >= window.startAt - DAY && ms < window.endAt + 2 * DAY;
  const runId = `run_syn-${index.toString(36)}_${newStart.toString(36)}`;
  const ticket = `T-S${index}`;
  const customer = `C-S${index % customers}`;
  const renames = new Map<string, string>([[run.header.runId, runId]]);
  if (source.ticket) renames.set(source.ticket, ticket);
  if (source.customer) renames.set(source.customer, customer);

  const rewrite = (value: unknown): unknown => {
    if (typeof value === 'number') return Number.isFinite(value) && inWindow(value) ? value + delta : value;
    if (typeof value === 'string') {
      const renamed = renames.get(value);
      if (renamed !== undefined) return renamed;
      if (ISO_TIME.test(value)) {
        const ms = Date.parse(value);
        if (inWindow(ms)) return new Date(ms + delta).toISOString();
      }
      return value;
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) out[key] = rewrite(inner);
      return out;
    }
    return value;
  };

  const header: RunHeader = {
    ...run.header,
    runId,
    seed: runId,
    recordedAt: new Date(newStart).toISOString(),
    externalIds: Object.fromEntries(Object.entries(run.header.externalIds).map(([name, value]) => [name, renames.get(value) ?? value])),
  };
  const rootHash = chainRoot(header);
  let previous = rootHash;
  const newEvents: StoredEvent[] = events.map((event) => {
    const json = canonicalJson(rewrite(JSON.parse(event.json)));
    previous = chainNext(previous, json);
    return { ...event, at: inWindow(event.at) ? event.at + delta : event.at, json, hash: previous };
  });
  const ending = run.ending;
  return {
    run: { ...run, header, rootHash, headHash: previous, sealHash: ending ? sealRun(previous, ending) : null },
    events: newEvents,
    // Shared with the source run, which is imported first: the bundle carries none of them again.
    blobs: [],
    decisions: [...deriveLedgerRows(header, newEvents).values()],
    modelsServed: source.bundle.modelsServed,
  };
}

/** A store the importer can wait on (the SQLite store packs imported runs in the background). */
function idleOf(store: Store): (() => Promise<void>) | undefined {
  const idle = (store as { idle?: () => Promise<void> }).idle;
  return typeof idle === 'function' ? idle.bind(store) : undefined;
}

/**
 * Imports the source runs themselves (with their blobs) when the target lacks them, then clones
 * numbered `from` .. `to - 1`. Returns how many were imported.
 */
export async function synthesizeRuns(options: {
  target: Store;
  sources: readonly SourceRun[];
  window: SourceWindow;
  from: number;
  to: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<number> {
  const { target, sources } = options;
  const idle = idleOf(target);
  for (const source of sources) await target.importRunBundle(source.bundle);
  let imported = 0;
  for (let index = options.from; index < options.to; index++) {
    const outcome = await target.importRunBundle(cloneRun(sources[index % sources.length] as SourceRun, index, options.window));
    if (outcome === 'imported') imported++;
    // Lets the background packer keep up, so the queue of packs stays short.
    if (index % 500 === 499) {
      await idle?.();
      options.onProgress?.(index + 1 - options.from, options.to - options.from);
    }
  }
  await idle?.();
  return imported;
}
