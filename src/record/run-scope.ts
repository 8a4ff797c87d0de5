import { AsyncLocalStorage } from 'node:async_hooks';
import type { NondeterminismReads } from './patch-globals.ts';
import type { RunTapeWriter } from './run-tape-writer.ts';

/**
 * What a run scope knows. Held in AsyncLocalStorage so code deep inside the agent needs no
 * parameter threading: the patched globals and the wrappers find their run here.
 */
export interface RunScope {
  readonly runId: string;
  readonly tape: RunTapeWriter;
  /** Run clock in ms since epoch (real or injected), read without recording. */
  readonly now: () => number;
  /** Seed of the named random streams (hex). */
  readonly seed: string;
  /** Causal key of the enclosing span, '' at the root. */
  readonly parentKey: string;
  /**
   * `record`: reads of clock and randomness are recorded. `opaque`: inside a tool or retrieval
   * body, or the recorder's own I/O, whose result is recorded whole; reads pass through unrecorded
   * (the clock still reads the run clock so an injected time stays consistent).
   */
  readonly mode: 'record' | 'opaque';
  /** Where clock and random reads go (recorded here; served from the tape in replay). */
  readonly reads: NondeterminismReads;
  /** Per-run ordinal counters, shared by every scope of the run. */
  readonly ordinals: Map<string, number>;
  /** Set in replay and fork: a network request that bypasses the tape is refused through here. */
  readonly blockEgress?: (url: string) => never;
  /** Inside a read a fork runs live: its world is reachable, but a write tool called from it is refused. */
  readonly writesRefused?: boolean;
}

const storage = new AsyncLocalStorage<RunScope>();

export function maybeCurrentRun(): RunScope | undefined {
  return storage.getStore();
}

export function assertInRun(what: string): RunScope {
  const scope = storage.getStore();
  if (!scope) throw new TypeError(`${what} was called outside a run: wrap the agent call in rec.run(input, fn).`);
  return scope;
}

export function runInScope<T>(scope: RunScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Runs `fn` with no run scope at all: the real world, unrecorded (used for the recorder's own I/O). */
export function runOutsideScope<T>(fn: () => T): T {
  return storage.exit(fn);
}

/**
 * Takes the next causal key for a call of `kind:name` under the scope's parent. Must be called
 * synchronously when the call starts: an await before it would let concurrent calls swap ordinals.
 */
export function takeCausalKey(scope: RunScope, kind: string, name: string): string {
  const base = `${scope.parentKey ? `${scope.parentKey}/` : ''}${kind}:${name}`;
  const ordinal = scope.ordinals.get(base) ?? 0;
  scope.ordinals.set(base, ordinal + 1);
  return `${base}#${ordinal}`;
}

/**
 * A tool or fetch wrapped by another recorder, called inside a replay or fork: nothing there can
 * serve it, and running it would reach the world. The agent must wrap its calls with the `rec`
 * it is given.
 */
export function foreignCallInReplay(what: string): TypeError {
  return new TypeError(
    `${what} was wrapped by a recorder other than the one this replay or fork gave the agent; it is not run, so that no side effect fires. Wrap tools and fetch with the rec passed to create().`,
  );
}
