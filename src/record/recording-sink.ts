import { type IncompleteMark, markRunIncomplete, type Store, type WriteBatch, type WriteOptions } from '../store/index.ts';

/**
 * Where the recording writer sends what it flushes: a store it writes to itself, or a collector
 * (`retrial server`) it sends batches to over HTTP (collector-sink.ts). The writer's failure path
 * (runs stopped alone, marks, buffer caps) is the same for both.
 */
export interface RecordingSink {
  /**
   * Writes a batch atomically, or (a collector) takes it into the outbox it sends from. Rejects
   * like a store does when it cannot: a full outbox rejects with OUTBOX_FULL_CODE.
   */
  write(batch: WriteBatch, options?: WriteOptions): Promise<void>;
  /** Stores a run whose recording stopped early as `incomplete`, or queues that to be done. */
  markIncomplete(mark: IncompleteMark, options?: WriteOptions): Promise<'marked' | 'skipped'>;
  /**
   * Resolves with true once what `write` took has reached its destination (the collector
   * acknowledged it), or with false when the sink stopped waiting for it (a collector that
   * acknowledged nothing for its flush timeout). Never rejects.
   */
  settle(): Promise<boolean>;
  /** Batches taken but not yet acknowledged, and their approximate bytes; zero for a store. */
  unsent(): { batches: number; bytes: number };
}

/** The `code` of the error a collector sink's write rejects with when its outbox is full. */
export const OUTBOX_FULL_CODE = 'RETRIAL_OUTBOX_FULL';

/** A store as a sink: writes land when `write` resolves. */
export function createStoreSink(store: Store): RecordingSink {
  return {
    write: (batch, options) => store.write(batch, options),
    markIncomplete: (mark, options) => markRunIncomplete(store, mark, options),
    settle: async () => true,
    unsent: () => ({ batches: 0, bytes: 0 }),
  };
}
