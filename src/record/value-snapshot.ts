import { originals } from './patch-globals.ts';

/** Bounds of a value the recorder takes (options of createRecorder). */
export interface ValueLimits {
  /** Deepest nesting of arrays and objects kept; deeper values are refused. */
  maxDepth: number;
  /** Largest value kept, in characters of its JSON (about bytes); larger values are refused. */
  maxBytes: number;
}

export const DEFAULT_VALUE_LIMITS: ValueLimits = { maxDepth: 1000, maxBytes: 64 * 1024 * 1024 };

/**
 * A value frozen as the agent handed it over or received it, or the reason it cannot be recorded.
 * `keysInOrder` is true when every object's keys were already sorted, so the value's JSON text is
 * its canonical JSON; `bytes` is the length of that JSON.
 */
export type ValueSnapshot = { ok: true; value: unknown; bytes: number; keysInOrder: boolean } | { ok: false; reason: string };

/** Work done between two looks at the clock, and how long one slice may run before yielding. */
const STEPS_PER_CHECK = 2048;
const SLICE_MS = 4;

interface Frame {
  source: object;
  target: unknown[] | Record<string, unknown>;
  keys: readonly string[] | null;
  length: number;
  index: number;
  /** This container's key in its parent (undefined at the root). */
  key: string | number | undefined;
}

class Refusal {
  constructor(readonly what: string) {}
}

/**
 * Copies `value` as JSON.stringify would see it (toJSON applied, undefined object members left out,
 * -0 written as 0) and refuses, with the path, what JSON cannot hold faithfully: NaN and the
 * infinities, a BigInt, a function or symbol, undefined inside an array, a cycle, nesting deeper
 * than `maxDepth`, more than `maxBytes`. The walk keeps its own stack, so a 100,000-deep value
 * costs no call stack. It runs synchronously and returns a plain result when the value is small;
 * a large value yields to the event loop every few milliseconds and returns a promise.
 */
export function snapshotValue(value: unknown, limits: ValueLimits = DEFAULT_VALUE_LIMITS): ValueSnapshot | Promise<ValueSnapshot> {
  const walk = new SnapshotWalk(limits);
  const root = walk.start(value);
  if (root !== undefined) return root;
  const first = walk.run(originals.performanceNow() + SLICE_MS);
  return first ?? continueLater(walk);
}

async function continueLater(walk: SnapshotWalk): Promise<ValueSnapshot> {
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const done = walk.run(originals.performanceNow() + SLICE_MS);
    if (done) return done;
  }
}

class SnapshotWalk {
  private readonly stack: Frame[] = [];
  private readonly ancestors = new Set<object>();
  private bytes = 0;
  private keysInOrder = true;
  private root: unknown;

  constructor(private readonly limits: ValueLimits) {}

  /** Takes the root; returns the result at once when it is not a container. */
  start(value: unknown): ValueSnapshot | undefined {
    try {
      const converted = this.convert(value ?? null, '', false, undefined);
      this.root = converted.value;
      return this.stack.length === 0 ? this.finish() : undefined;
    } catch (error) {
      return this.refused(error, undefined);
    }
  }

  /** Walks until done or until `deadline`; returns the result when done. */
  run(deadline: number): ValueSnapshot | undefined {
    let steps = 0;
    while (this.stack.length) {
      if (++steps % STEPS_PER_CHECK === 0 && originals.performanceNow() > deadline) return undefined;
      const frame = this.stack[this.stack.length - 1] as Frame;
      if (frame.index >= frame.length) {
        this.stack.pop();
        this.ancestors.delete(frame.source);
        continue;
      }
      const index = frame.index++;
      const key = frame.keys === null ? index : (frame.keys[index] as string);
      try {
        const raw = (frame.source as Record<string | number, unknown>)[key];
        const converted = this.convert(raw, String(key), frame.keys === null, key);
        if (converted.omit) continue;
        if (frame.keys === null) (frame.target as unknown[]).push(converted.value);
        else if (key === '__proto__')
          Object.defineProperty(frame.target, key, { value: converted.value, enumerable: true, writable: true, configurable: true });
        else (frame.target as Record<string, unknown>)[key] = converted.value;
      } catch (error) {
        return this.refused(error, key);
      }
    }
    return this.finish();
  }

  private finish(): ValueSnapshot {
    if (this.bytes > this.limits.maxBytes) return { ok: false, reason: this.tooLarge() };
    return { ok: true, value: this.root, bytes: this.bytes, keysInOrder: this.keysInOrder };
  }

  private tooLarge(): string {
    return `larger than ${formatBytes(this.limits.maxBytes)} of JSON (the recorder's maxValueBytes)`;
  }

  private refused(error: unknown, key: string | number | undefined): ValueSnapshot {
    if (!(error instanceof Refusal)) throw error;
    const path = this.stack.slice(1).map((frame) => frame.key as string | number);
    if (key !== undefined) path.push(key);
    return { ok: false, reason: `${error.what} at ${renderPath(path)}` };
  }

  /** One member as JSON.stringify sees it; containers are entered (a frame is pushed). */
  private convert(raw: unknown, holderKey: string, inArray: boolean, key: string | number | undefined): { value?: unknown; omit?: true } {
    let member = raw;
    if (typeof member === 'object' && member !== null && typeof (member as { toJSON?: unknown }).toJSON === 'function') {
      try {
        member = (member as { toJSON: (key: string) => unknown }).toJSON(holderKey);
      } catch (error) {
        throw new Refusal(`a value whose toJSON threw (${(error as Error)?.message ?? String(error)})`);
      }
    }
    if (member instanceof Number || member instanceof String || member instanceof Boolean) member = member.valueOf();
    switch (typeof member) {
      case 'string':
        this.bytes += member.length + 2;
        return { value: member };
      case 'boolean':
        this.bytes += 5;
        return { value: member };
      case 'number':
        if (!Number.isFinite(member)) throw new Refusal(String(member));
        this.bytes += 8;
        // JSON has no negative zero: the tape holds 0, which === the -0 the agent got.
        return { value: member === 0 ? 0 : member };
      case 'bigint':
        // Not its digits: the reason goes to logs, and a BigInt is often an identifier.
        throw new Refusal('a BigInt');
      case 'undefined':
        if (inArray) throw new Refusal('undefined inside an array');
        return { omit: true };
      case 'function':
      case 'symbol':
        throw new Refusal(`a ${typeof member}`);
    }
    if (member === null) {
      this.bytes += 4;
      return { value: null };
    }
    const container = member as object;
    if (this.ancestors.has(container)) throw new Refusal('a cycle (the value contains itself)');
    if (this.stack.length >= this.limits.maxDepth) throw new Refusal(`nesting deeper than ${this.limits.maxDepth} levels (the recorder's maxValueDepth)`);
    this.bytes += 2;
    if (this.bytes > this.limits.maxBytes) throw new Refusal(this.tooLarge());
    const isArray = Array.isArray(container);
    const keys = isArray ? null : Object.keys(container);
    if (keys !== null) {
      for (let index = 1; index < keys.length && this.keysInOrder; index++) if ((keys[index - 1] as string) > (keys[index] as string)) this.keysInOrder = false;
      for (const name of keys) this.bytes += name.length + 3;
    }
    const target = isArray ? [] : {};
    this.ancestors.add(container);
    this.stack.push({ source: container, target, keys, length: isArray ? (container as unknown[]).length : (keys as string[]).length, index: 0, key });
    return { value: target };
  }
}

/** `$.items[2].name`, shortened in the middle when very long. */
export function renderPath(path: ReadonlyArray<string | number>): string {
  let text = '$';
  for (const part of path) text += typeof part === 'number' ? `[${part}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  return text.length > 160 ? `${text.slice(0, 60)}…(${path.length} levels)…${text.slice(-60)}` : text;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round(bytes / (1024 * 1024))} MB` : `${bytes} bytes`;
}
