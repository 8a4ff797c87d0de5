import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createDeflateRaw, type DeflateRaw } from 'node:zlib';
import type { StoredBlob } from '../tape/index.ts';
import { originals } from './patch-globals.ts';
import { piecesOf } from './redaction.ts';

/** Values whose JSON is at least this long are canonicalized and hashed in slices, yielding between them. */
export const SLICED_FROM_BYTES = 1024 * 1024;

/**
 * A blob made ahead of its event, deflated on the thread pool: writing 50 MB of plain JSON into
 * SQLite held the event loop for over a second, its deflated bytes take a fraction of that.
 */
export type PreparedBlob = StoredBlob & { data: Buffer };

const SLICE_MS = 4;
const STEPS_PER_CHECK = 1024;
/**
 * Text handed to the hash and turned into bytes this many characters at a time. Small on
 * purpose: the pending text is thousands of short strings, and at 256K characters it lived long
 * enough to survive scavenges, which then copied most of the young generation each time (pauses
 * of 200+ ms on a loaded box while a 50 MB value was written); at 16K it dies young.
 */
const FLUSH_CHARS = 16 * 1024;
/** Strings longer than this are escaped piece by piece. */
const STRING_PIECE = 256 * 1024;

/**
 * Builds the blob of a received value (a snapshot: plain objects, arrays and JSON primitives) and,
 * when its keys were not in canonical order, the blob of its JSON text as the agent received it:
 * the same bytes canonicalJson and createBlob would give, made a slice of a few milliseconds at a
 * time, so a 50 MB tool result never holds the event loop for long.
 */
export async function prepareReceivedBlobs(value: unknown, keysInOrder: boolean): Promise<{ value: PreparedBlob; text: PreparedBlob | undefined }> {
  const canonical = await writeSliced(value, true, false);
  // The text blob is a JSON string holding the received-order JSON: canonicalJson of that string.
  const text = keysInOrder || typeof value === 'string' ? undefined : await writeSliced(value, false, true);
  return { value: canonical, text };
}

/** The canonical blob of a large tool or retrieval argument (a redacted snapshot), made in slices: its ref is the call's requestHash. */
export function prepareCanonicalBlob(value: unknown): Promise<PreparedBlob> {
  return writeSliced(value, true, false);
}

/** The hash of a large value's canonical JSON, in slices, nothing kept: how replay checks a large argument. */
export async function canonicalHashInSlices(value: unknown): Promise<string> {
  return (await writeSliced(value, true, false, false)).hash;
}

class Sink {
  private readonly hash = createHash('sha256');
  /** Deflates on the thread pool as the text is written: no 50 MB buffer is ever made or copied. */
  private readonly deflate: DeflateRaw | undefined;
  private readonly deflated: Buffer[] = [];
  private pending = '';
  private size = 0;

  /** `asString`: what is written is the body of a JSON string literal, escaped chunk by chunk. */
  constructor(
    private readonly asString: boolean,
    deflate: boolean,
  ) {
    this.deflate = deflate ? createDeflateRaw({ level: 6 }) : undefined;
    this.deflate?.on('data', (chunk: Buffer) => this.deflated.push(chunk));
    if (asString) this.add('"');
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= FLUSH_CHARS) this.flush(false);
  }

  private flush(last: boolean): void {
    let text = this.pending;
    this.pending = '';
    // A chunk never ends inside a surrogate pair: JSON.stringify escapes a lone half, not a pair.
    if (!last && text.length && /[\uD800-\uDBFF]/.test(text.charAt(text.length - 1))) {
      this.pending = text.slice(-1);
      text = text.slice(0, -1);
    }
    if (text) this.add(this.asString ? JSON.stringify(text).slice(1, -1) : text);
  }

  private add(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    this.hash.update(bytes);
    this.deflate?.write(bytes);
    this.size += bytes.length;
  }

  async finish(): Promise<PreparedBlob> {
    this.flush(true);
    if (this.asString) this.add('"');
    if (this.deflate) {
      const ended = once(this.deflate, 'end');
      this.deflate.end();
      await ended;
    }
    return { hash: this.hash.digest('hex'), encoding: 'json+deflate', size: this.size, data: await concatInSlices(this.deflated) };
  }
}

/** Bytes copied per turn of the event loop when the deflated pieces are joined. */
const COPY_BYTES_PER_TURN = 2 * 1024 * 1024;

/** Buffer.concat a turn at a time: one copy of 40 MB of deflated pieces held the loop for 50-80 ms on a loaded box. */
async function concatInSlices(pieces: Buffer[]): Promise<Buffer> {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  if (total <= COPY_BYTES_PER_TURN) return Buffer.concat(pieces, total);
  const joined = Buffer.allocUnsafe(total);
  let offset = 0;
  let copiedThisTurn = 0;
  for (const piece of pieces) {
    if (copiedThisTurn >= COPY_BYTES_PER_TURN) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      copiedThisTurn = 0;
    }
    piece.copy(joined, offset);
    offset += piece.length;
    copiedThisTurn += piece.length;
  }
  return joined;
}

interface Frame {
  value: object;
  keys: readonly string[] | null;
  index: number;
}

/**
 * Writes `value` as JSON (keys sorted when `sortKeys`), optionally as the body of a JSON string
 * (`asString`: each piece escaped as JSON.stringify would escape the whole text).
 */
async function writeSliced(value: unknown, sortKeys: boolean, asString: boolean, deflate = true): Promise<PreparedBlob> {
  const sink = new Sink(asString, deflate);
  const emit = (text: string) => sink.write(text);
  const stack: Frame[] = [];
  let deadline = originals.performanceNow() + SLICE_MS;
  let steps = 0;
  const pause = async () => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    deadline = originals.performanceNow() + SLICE_MS;
  };
  /** A string given as pieces that never end inside a surrogate pair (a long text redaction cut at line feeds, or the whole text). */
  const writeLongString = async (pieces: readonly string[]) => {
    emit('"');
    for (const text of pieces)
      for (let start = 0; start < text.length; ) {
        let end = Math.min(start + STRING_PIECE, text.length);
        // Never split a surrogate pair: JSON.stringify escapes a lone half, which a whole pair is not.
        if (end < text.length && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
        emit(JSON.stringify(text.slice(start, end)).slice(1, -1));
        start = end;
        if (originals.performanceNow() > deadline) await pause();
      }
    emit('"');
  };
  /** Writes a primitive or opens a container; a promise only for a string long enough to slice. */
  const open = (member: unknown, holder?: object, key?: string | number): Promise<void> | undefined => {
    if (typeof member === 'string' && holder !== undefined && member.length > STRING_PIECE) {
      // Redacted in pieces: escaping them one by one never flattens the 30 MB text they make.
      const pieces = piecesOf(holder, key as string | number, member);
      if (pieces) return writeLongString(pieces);
    }
    if (member === null || typeof member !== 'object') {
      if (typeof member === 'string' && member.length > STRING_PIECE) return writeLongString([member]);
      emit(JSON.stringify(member));
      return undefined;
    }
    if (Array.isArray(member)) {
      emit('[');
      stack.push({ value: member, keys: null, index: 0 });
      return undefined;
    }
    const keys = Object.keys(member).filter((key) => (member as Record<string, unknown>)[key] !== undefined);
    if (sortKeys) keys.sort();
    emit('{');
    stack.push({ value: member, keys, index: 0 });
    return undefined;
  };
  await open(value);
  while (stack.length) {
    if (++steps % STEPS_PER_CHECK === 0 && originals.performanceNow() > deadline) await pause();
    const frame = stack[stack.length - 1] as Frame;
    const length = frame.keys === null ? (frame.value as unknown[]).length : frame.keys.length;
    if (frame.index >= length) {
      stack.pop();
      emit(frame.keys === null ? ']' : '}');
      continue;
    }
    const index = frame.index++;
    if (index > 0) emit(',');
    let long: Promise<void> | undefined;
    if (frame.keys === null) long = open((frame.value as unknown[])[index], frame.value, index);
    else {
      const key = frame.keys[index] as string;
      emit(`${JSON.stringify(key)}:`);
      long = open((frame.value as Record<string, unknown>)[key], frame.value, key);
    }
    if (long) await long;
  }
  return sink.finish();
}
