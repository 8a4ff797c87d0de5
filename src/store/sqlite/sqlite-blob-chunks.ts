import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { deflateRaw } from 'node:zlib';
import type { StoredBlob } from '../../tape/index.ts';
import type { RunWriter } from '../store.ts';
import type { StatementSource } from './sqlite-database.ts';
import { asBuffer, hashBytes } from './sqlite-rows.ts';

/**
 * Large blobs in SQLite. better-sqlite3 runs every statement on the event loop, so one
 * transaction writing the ~10 MB a 50 MB tool result deflates to held the loop for 50-180 ms.
 * A blob whose stored bytes exceed CHUNK_BYTES is written instead as a chunk set: its bytes cut
 * into CHUNK_BYTES pieces, one short transaction each, with a turn of the event loop between
 * them. Only then does the batch's own transaction insert the blob row, pointing at the set, so
 * a reader sees the whole blob or none of it. Until that commit the set has a blob_chunk_sets
 * row naming its writer; a set whose write never committed (a crash, a failed batch, a blob some
 * other writer stored first) keeps that row and is deleted in the background, a few chunks per
 * transaction. A write retried after it met another process's write lock carries on with the
 * chunks it already wrote. The blob keeps its address and encoding: its stored bytes are the
 * chunks in order, so reads, export and verify see the same bytes as before.
 */

/** Bytes of one chunk row: a transaction of this size commits in about a millisecond. */
export const CHUNK_BYTES = 256 * 1024;
/** Chunks deleted per transaction when a set is cleaned. */
const CLEAN_CHUNKS_PER_TRANSACTION = 8;
/** How long reading a chunked blob may run before it yields, ms. */
const READ_SLICE_MS = 4;

const deflateRawAsync = promisify(deflateRaw);

/** How a large blob of a batch is to be written: already stored (nothing to do) or as a chunk set written ahead. */
export type LargeBlobPlan = { kind: 'present' } | { kind: 'chunked'; blob: StoredBlob; chunkSet: number };
export type LargeBlobPlans = ReadonlyMap<string, LargeBlobPlan>;

/** What the chunk writer needs from the store: a short IMMEDIATE transaction under the caller's lock wait. */
export interface ChunkWriterHost {
  statement: StatementSource;
  /** Runs `body` in one IMMEDIATE transaction, waiting at most `lockWaitMs` for the write lock. */
  transact<Result>(lockWaitMs: number | undefined, body: () => Result): Result;
  /** Queues background work (close waits for it). */
  background(work: () => Promise<void>): void;
  isClosed(): boolean;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Milliseconds from hrtime: performance.now may be the recorder's inside a run scope. */
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** True for a blob the store writes as chunks rather than in the batch's transaction. */
export function isLargeBlob(blob: StoredBlob): boolean {
  return blob.data.byteLength > CHUNK_BYTES;
}

/** A blob that may be written as chunks: large as given, or plain JSON that may stay large once deflated. */
function needsChunks(blob: StoredBlob): boolean {
  return isLargeBlob(blob) || (blob.encoding === 'json' && blob.size > CHUNK_BYTES);
}

/**
 * Plain JSON is deflated on the thread pool before it is cut into chunks (a large run packs
 * nothing, so this is its only compression); deflated bytes are stored as given.
 */
async function storedForm(blob: StoredBlob): Promise<StoredBlob> {
  if (blob.encoding !== 'json') return blob;
  const packed = await deflateRawAsync(blob.data, { level: 6 });
  return packed.length < blob.data.byteLength * 0.9 ? { hash: blob.hash, encoding: 'json+deflate', size: blob.size, data: packed } : blob;
}

export class BlobChunkWriter {
  /** Progress of sets begun for these very bytes: a retry of the same batch after a lock resumes there. */
  private readonly progress = new WeakMap<Uint8Array, { chunkSet: number; written: number }>();
  /** Sets this store began that no committed blob row refers to yet; close cleans those left. */
  private readonly open = new Set<number>();
  private readonly writer: RunWriter = { pid: process.pid, host: hostname() };

  constructor(private readonly host: ChunkWriterHost) {}

  /** Whether `prepare` has anything to do for these blobs. */
  holdsLarge(blobs: readonly StoredBlob[]): boolean {
    return blobs.some(needsChunks);
  }

  /**
   * Writes the large blobs among `blobs` as chunk sets, each chunk in its own transaction with a
   * turn of the event loop before it, and says how the batch's transaction is to store each.
   * Throws what a transaction threw; the sets written so far stay for a retry when the write lock
   * was busy (and are cleaned on close if none comes), and are cleaned otherwise.
   */
  async prepare(blobs: readonly StoredBlob[], lockWaitMs: number | undefined): Promise<LargeBlobPlans> {
    const plans = new Map<string, LargeBlobPlan>();
    try {
      await this.prepareInto(plans, blobs, lockWaitMs);
    } catch (error) {
      this.settle(plans, isBusy(error) ? 'retry' : 'failed');
      throw error;
    }
    return plans;
  }

  private async prepareInto(plans: Map<string, LargeBlobPlan>, blobs: readonly StoredBlob[], lockWaitMs: number | undefined): Promise<void> {
    for (const given of blobs) {
      if (plans.has(given.hash) || !needsChunks(given)) continue;
      const present = this.host.statement('SELECT 1 FROM blobs WHERE hash = ?').get(hashBytes(given.hash)) !== undefined;
      if (present) {
        plans.set(given.hash, { kind: 'present' });
        continue;
      }
      const blob = await storedForm(given);
      // Small once deflated: the batch's transaction stores it in its row, as any other blob.
      if (!isLargeBlob(blob)) continue;
      plans.set(given.hash, { kind: 'chunked', blob, chunkSet: await this.writeSet(blob, lockWaitMs) });
    }
  }

  private async writeSet(blob: StoredBlob, lockWaitMs: number | undefined): Promise<number> {
    const data = asBuffer(blob.data);
    let progress = this.progress.get(data);
    if (progress !== undefined && !this.open.has(progress.chunkSet)) progress = undefined;
    const count = Math.ceil(data.length / CHUNK_BYTES);
    const insertSet = this.host.statement('INSERT INTO blob_chunk_sets (hash, writer_pid, writer_host) VALUES (?, ?, ?)');
    const insertChunk = this.host.statement('INSERT OR REPLACE INTO blob_chunks (chunk_set, seq, data) VALUES (?, ?, ?)');
    try {
      for (let seq = progress?.written ?? 0; seq < count; seq++) {
        await yieldToLoop();
        const piece = data.subarray(seq * CHUNK_BYTES, (seq + 1) * CHUNK_BYTES);
        const current = progress;
        const chunkSet = this.host.transact(lockWaitMs, () => {
          const id = current?.chunkSet ?? Number(insertSet.run(hashBytes(blob.hash), this.writer.pid, this.writer.host).lastInsertRowid);
          insertChunk.run(id, seq, piece);
          return id;
        });
        if (progress === undefined) {
          progress = { chunkSet, written: 0 };
          this.progress.set(data, progress);
          this.open.add(chunkSet);
        }
        progress.written = seq + 1;
      }
    } catch (error) {
      if (progress !== undefined && !isBusy(error)) {
        this.open.delete(progress.chunkSet);
        this.progress.delete(data);
        this.clean([progress.chunkSet]);
      }
      throw error;
    }
    if (progress === undefined) throw new Error('a large blob has no chunks');
    return progress.chunkSet;
  }

  /**
   * After the batch's transaction (or a failed prepare). `committed`: the sets are referenced by
   * their blob rows now, except any whose blob another writer stored first (its row was
   * ignored), which are cleaned. `retry`: the write met the lock and will come again, so the sets
   * stay for it to resume. `failed`: the sets are cleaned.
   */
  settle(plans: LargeBlobPlans, outcome: 'committed' | 'retry' | 'failed'): void {
    const sets = [...plans.values()].flatMap((plan) => (plan.kind === 'chunked' ? [plan] : []));
    if (sets.length === 0 || outcome === 'retry') return;
    for (const plan of sets) {
      this.open.delete(plan.chunkSet);
      this.progress.delete(asBuffer(plan.blob.data));
    }
    const unreferenced =
      outcome === 'failed'
        ? sets.map((plan) => plan.chunkSet)
        : (
            this.host
              .statement('SELECT chunk_set FROM blob_chunk_sets WHERE chunk_set IN (SELECT value FROM json_each(?))')
              .all(JSON.stringify(sets.map((plan) => plan.chunkSet))) as Array<{ chunk_set: number }>
          ).map((row) => row.chunk_set);
    this.clean(unreferenced);
  }

  /** Sets left by writers that are gone (a crash mid-write): cleaned in the background. */
  cleanAbandoned(isWriterAlive: (writer: RunWriter) => boolean): void {
    const rows = this.host.statement('SELECT chunk_set, writer_pid, writer_host FROM blob_chunk_sets').all() as Array<{
      chunk_set: number;
      writer_pid: number;
      writer_host: string;
    }>;
    this.clean(
      rows.filter((row) => !this.open.has(row.chunk_set) && !isWriterAlive({ pid: row.writer_pid, host: row.writer_host })).map((row) => row.chunk_set),
    );
  }

  /** Sets this store began and never committed (a write given up on): cleaned before it closes. */
  async cleanOpen(): Promise<void> {
    const sets = [...this.open];
    this.open.clear();
    await this.deleteSets(sets);
  }

  private clean(sets: readonly number[]): void {
    if (sets.length) this.host.background(() => this.deleteSets(sets));
  }

  /**
   * Deletes unreferenced sets a few chunks per transaction. Best effort: a set still there (the
   * write lock was busy, the store closed) is found again by the next open's sweep.
   */
  private async deleteSets(sets: readonly number[]): Promise<void> {
    const stillUnreferenced = this.host.statement('SELECT 1 FROM blob_chunk_sets WHERE chunk_set = ?');
    const deleteChunks = this.host.statement(
      'DELETE FROM blob_chunks WHERE chunk_set = ? AND seq IN (SELECT seq FROM blob_chunks WHERE chunk_set = ? ORDER BY seq LIMIT ?)',
    );
    const deleteSet = this.host.statement('DELETE FROM blob_chunk_sets WHERE chunk_set = ?');
    try {
      for (const chunkSet of sets) {
        for (let done = false; !done; ) {
          await yieldToLoop();
          if (this.host.isClosed()) return;
          done = this.host.transact(5, () => {
            // A blob row may have come to refer to it meanwhile (a retried batch): then it stays.
            if (stillUnreferenced.get(chunkSet) === undefined) return true;
            if (deleteChunks.run(chunkSet, chunkSet, CLEAN_CHUNKS_PER_TRANSACTION).changes > 0) return false;
            deleteSet.run(chunkSet);
            return true;
          });
        }
      }
    } catch {
      // Left for the next open's sweep.
    }
  }
}

/** A chunked blob's stored bytes, all at once (the synchronous read paths: export, packing). */
export function readChunkSet(statement: StatementSource, chunkSet: number): Buffer {
  const rows = statement('SELECT data FROM blob_chunks WHERE chunk_set = ? ORDER BY seq').all(chunkSet) as Array<{ data: Buffer }>;
  return Buffer.concat(rows.map((row) => row.data));
}

/** Reads one chunk of a set (undefined past its last). */
export type ChunkReader = (chunkSet: number, seq: number) => Buffer | undefined;

export function chunkReader(statement: StatementSource): ChunkReader {
  return (chunkSet, seq) =>
    (statement('SELECT data FROM blob_chunks WHERE chunk_set = ? AND seq = ?').get(chunkSet, seq) as { data: Buffer } | undefined)?.data;
}

/**
 * A chunked blob's stored bytes, a few chunks per turn of the event loop. A committed set never
 * changes (only sets no blob row refers to are deleted), so reading it across turns is safe.
 */
export async function readChunkSetInSlices(read: ChunkReader, chunkSet: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let deadline = nowMs() + READ_SLICE_MS;
  for (let seq = 0; ; seq++) {
    if (nowMs() > deadline) {
      await yieldToLoop();
      deadline = nowMs() + READ_SLICE_MS;
    }
    const piece = read(chunkSet, seq);
    if (piece === undefined) break;
    pieces.push(piece);
  }
  return Buffer.concat(pieces);
}

/** The write lock was held elsewhere: the same write is tried again later and resumes its sets. */
export function isBusy(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++)
    if (/^SQLITE_BUSY/.test(String((cause as { code?: unknown }).code))) return true;
  return false;
}
