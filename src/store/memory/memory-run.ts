import type { RunRecord, StoredBlob } from '../../tape/index.ts';
import type { DecisionRecord, RunWriter, StoredEvent } from '../store.ts';

/** A run as the memory store keeps it: the record plus what the SQL backends keep in columns. */
export interface MemoryRun {
  record: RunRecord;
  /** Null for an imported run, which no process in this store is writing. */
  writer: RunWriter | null;
  modelsServed: string[];
  /** header.recordedAt in ms since epoch. */
  recordedAtMs: number;
  /** UTF-8 bytes of the run's event JSON. */
  eventBytes: number;
}

/** All tables of the memory store. A write builds a new generation of the maps it touches. */
export interface MemoryTables {
  runs: Map<string, MemoryRun>;
  events: Map<string, StoredEvent[]>;
  blobs: Map<string, StoredBlob>;
  decisions: Map<string, DecisionRecord>;
}

/**
 * Copies in and out, so a caller that mutates what it passed or got back cannot change stored
 * data behind the store's back (the SQL backends give that for free).
 */
export function copyRun(run: MemoryRun): MemoryRun {
  return { ...run, record: structuredClone(run.record), writer: run.writer && { ...run.writer }, modelsServed: [...run.modelsServed] };
}

export function copyBlob(blob: StoredBlob): StoredBlob {
  return { ...blob, data: new Uint8Array(blob.data) };
}

export function copyDecision(decision: DecisionRecord): DecisionRecord {
  return { ...decision, attributes: { ...decision.attributes } };
}
