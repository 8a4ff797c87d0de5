import nodeCrypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import type { ClockEvent, RandomEvent } from '../tape/index.ts';
import { maybeCurrentRun } from './run-scope.ts';
import type { SeededStream } from './seeded-random.ts';

/**
 * Every patch of a global source of non-determinism lives in this file. Inside a run scope in
 * `record` mode the clock and random sources are routed to the scope's `reads` (which records or,
 * in replay, serves them); everywhere else they behave exactly as the originals.
 */
export type ClockSource = ClockEvent['source'];
export type RandomSource = RandomEvent['source'];

/** Where a run's clock and random reads go: a recorder records them, a replayer serves them. */
export interface NondeterminismReads {
  clock(source: ClockSource, read: () => number): number;
  /** `draw` produces the value from the call site's seeded stream when recording. */
  random<T extends number | string>(source: RandomSource, draw: (stream: SeededStream) => T): T;
}

const OriginalDate = globalThis.Date;
/** The real sources, for the recorder's own timing and ids. Never recorded. */
export const originals = {
  Date: OriginalDate,
  dateNow: OriginalDate.now.bind(OriginalDate),
  performanceNow: performance.now.bind(performance),
  mathRandom: Math.random,
  randomUUID: nodeCrypto.randomUUID,
  randomBytes: nodeCrypto.randomBytes,
  getRandomValues: globalThis.crypto.getRandomValues.bind(globalThis.crypto),
};

/** The reads of the current run when its reads are routed (not inside an opaque tool body). */
function recordingReads(): NondeterminismReads | undefined {
  const scope = maybeCurrentRun();
  return scope && scope.mode === 'record' ? scope.reads : undefined;
}

function runClockNow(): number {
  const scope = maybeCurrentRun();
  if (!scope) return originals.dateNow();
  return scope.mode === 'record' ? scope.reads.clock('Date.now', scope.now) : scope.now();
}

let installed = false;

/** Idempotent. Called by createRecorder and the replayer; safe to call more than once. */
export function installGlobalPatches(): void {
  if (installed) return;
  installed = true;

  function PatchedDate(this: unknown, ...args: unknown[]): unknown {
    const scope = maybeCurrentRun();
    if (!new.target) {
      if (!scope) return OriginalDate();
      const reads = recordingReads();
      const value = reads ? reads.clock('Date', scope.now) : scope.now();
      return new OriginalDate(value).toString();
    }
    if (args.length === 0 && scope) {
      const reads = recordingReads();
      const value = reads ? reads.clock('new Date', scope.now) : scope.now();
      return Reflect.construct(OriginalDate, [value], new.target);
    }
    return Reflect.construct(OriginalDate, args, new.target);
  }
  Object.setPrototypeOf(PatchedDate, OriginalDate);
  PatchedDate.prototype = OriginalDate.prototype;
  Object.defineProperty(PatchedDate, 'now', { value: runClockNow, writable: true, configurable: true });
  globalThis.Date = PatchedDate as unknown as DateConstructor;

  performance.now = function patchedPerformanceNow(): number {
    const reads = recordingReads();
    return reads ? reads.clock('performance.now', originals.performanceNow) : originals.performanceNow();
  };

  Math.random = function patchedMathRandom(): number {
    const reads = recordingReads();
    return reads ? reads.random('Math.random', (stream) => stream.nextFloat()) : originals.mathRandom();
  };

  const patchedRandomUUID = function patchedRandomUUID(options?: nodeCrypto.RandomUUIDOptions): `${string}-${string}-${string}-${string}-${string}` {
    const reads = recordingReads();
    if (!reads) return originals.randomUUID(options);
    return reads.random('crypto.randomUUID', (stream) => stream.uuid()) as `${string}-${string}-${string}-${string}-${string}`;
  };
  nodeCrypto.randomUUID = patchedRandomUUID;
  globalThis.crypto.randomUUID = patchedRandomUUID;

  globalThis.crypto.getRandomValues = function patchedGetRandomValues<T extends ArrayBufferView | null>(array: T): T {
    const reads = recordingReads();
    if (!reads || array === null) return originals.getRandomValues(array as never) as T;
    const view = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const base64 = reads.random('crypto.getRandomValues', (stream) => Buffer.from(stream.fillBytes(new Uint8Array(view.length))).toString('base64'));
    view.set(Buffer.from(base64, 'base64'));
    return array;
  };

  nodeCrypto.randomBytes = function patchedRandomBytes(size: number, callback?: (error: Error | null, buffer: Buffer) => void): Buffer {
    const reads = recordingReads();
    if (!reads) return (originals.randomBytes as (size: number, callback?: unknown) => Buffer)(size, callback);
    const base64 = reads.random('crypto.randomBytes', (stream) => Buffer.from(stream.fillBytes(new Uint8Array(size))).toString('base64'));
    const buffer = Buffer.from(base64, 'base64');
    if (callback) {
      process.nextTick(callback, null, buffer);
      return undefined as unknown as Buffer;
    }
    return buffer;
  } as typeof nodeCrypto.randomBytes;

  // `import { randomUUID } from 'node:crypto'` binds the ESM export; this refreshes those bindings.
  syncBuiltinESMExports();
}
