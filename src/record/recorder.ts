import { hostname } from 'node:os';
import type { RunWriter, Store } from '../store/index.ts';
import {
  CURRENT_RECORDER_FLAGS,
  chainRoot,
  type ForkOrigin,
  RetrialError,
  type RunHeader,
  type RunRecord,
  TAPE_FORMAT_VERSION,
  type ToolEffect,
} from '../tape/index.ts';
import { type TakenArguments, takeArguments } from './call-arguments.ts';
import { captureAgentSite, captureCallSite } from './call-site.ts';
import { COLLECTOR_DEFAULTS, type CollectorOptions, createCollectorSink } from './collector-sink.ts';
import { jsonSnapshot } from './json-snapshot.ts';
import { installGlobalPatches, type NondeterminismReads, originals } from './patch-globals.ts';
import { createStderrReporter, type RecorderHealth, type RecordingFailure } from './recording-failure.ts';
import { createRecordingFetch, type HttpExchange, hostOf } from './recording-fetch.ts';
import { createStoreSink, type RecordingSink } from './recording-sink.ts';
import { createRecordingWriter, type RecordingWriter } from './recording-writer.ts';
import { createRedactor, legacyArgsHash, type PiiRule, type RedactionOptions, type Redactor } from './redaction.ts';
import { assertRedactionSalt, defaultRedactionSalt } from './redaction-salt.ts';
import { assertInRun, foreignCallInReplay, maybeCurrentRun, type RunScope, runInScope, takeCausalKey } from './run-scope.ts';
import type { BlobCollector, EventDraft, RunTapeWriter } from './run-tape-writer.ts';
import { SeededStream } from './seeded-random.ts';
import { prepareReceivedBlobs, SLICED_FROM_BYTES } from './sliced-blob.ts';
import { DEFAULT_VALUE_LIMITS, snapshotValue, type ValueLimits, type ValueSnapshot } from './value-snapshot.ts';

/** Makes a received value's blobs when its event is built: synchronously, or once its slices are done. */
type ReceivedBlobs = (blobs: BlobCollector) => { ref: string; text?: string } | Promise<{ ref: string; text?: string }>;

export const RECORDER_NAME = 'retrial-recorder/0.1.0';

export interface RecorderOptions {
  /** Where runs are written. Leave it out to send them to a collector instead (`collector`, or RETRIAL_URL). */
  store?: Store;
  /**
   * A collector (`retrial server`) to send runs to, for agents that cannot reach the store: its URL
   * and token (default RETRIAL_URL and RETRIAL_TOKEN) and how much may wait for it in memory. Used
   * when there is no `store`. Runs reach the collector in the background: the agent never waits for
   * it, and `await rec.flush()` (call it before the process exits) waits until it acknowledged them.
   * A collector needs RETRIAL_REDACTION_SALT (or `redaction.salt`): the readers of its store replay with it.
   */
  collector?: CollectorOptions;
  /** The agent's name, e.g. "support-agent". */
  agent: string;
  /** Version of the agent's code (git sha, package version). */
  codeVersion?: string;
  /**
   * PII rules, and the salt of redaction hashes (keep it out of the store; replay needs the same).
   * Without a salt (the option, or `salt`, left out): RETRIAL_REDACTION_SALT, else the
   * `redaction-salt` file beside an embedded store's database (created once, then reused), else
   * (memory store) a random salt that lives as long as the process. A salt given as undefined or
   * empty is an error here, not inside the agent's code on its first e-mail address.
   */
  redaction?: { salt?: string; rules?: readonly PiiRule[] };
  /** The fetch that really reaches the network; default globalThis.fetch. */
  baseFetch?: typeof fetch;
  /** How long buffered events may wait before a background flush, ms. Default 20. */
  flushIntervalMs?: number;
  /** Flush at once when this many events are buffered. Default 2000. */
  maxBufferedEvents?: number;
  /**
   * Most events that may wait for the store, all runs together. A run that pushes past it stops
   * recording (`buffer-full`): it is stored `incomplete` and its further events are dropped and
   * counted. Default 100,000.
   */
  maxPendingEvents?: number;
  /** Most bytes of values (inputs, tool and retrieval arguments and results) that may wait for the store, likewise. Default 256 MB. */
  maxPendingBytes?: number;
  /** Largest value (input, arguments, result, output) recorded, in characters of its JSON; a run with a larger one is refused. Default 64 MB. */
  maxValueBytes?: number;
  /** Deepest nesting of a value recorded; a run with a deeper one is refused. Default 1000. */
  maxValueDepth?: number;
  /**
   * Called once for each run that cannot be recorded in full (a value JSON cannot hold, a store
   * that refuses writes, a full buffer, a bug of ours). The agent never sees these failures; the
   * run is stored `incomplete` with the reason. Default: one warning line on stderr per distinct
   * cause, at most once a minute. An exception thrown here is ignored.
   */
  onRecordingError?: (failure: RecordingFailure) => void;
  /** How long to wait before writing pending `incomplete` marks again while the store refuses writes, ms. Default 1000. */
  retryIntervalMs?: number;
  /**
   * How long events may wait in memory while another process holds the store's write lock, ms.
   * Each write waits for the lock only a few ms (SQLite would hold the event loop) and is tried
   * again with backoff; meanwhile the calls that wait for durability (a write tool, the end of
   * `rec.run`, `rec.flush`) wait too, without blocking the event loop. A lock held longer stops
   * the waiting runs (`write`): they are marked `incomplete` and those calls go on. Default 30,000.
   */
  maxLockWaitMs?: number;
  /**
   * Answers for calls instead of the world, by causal key (fork serves its parent's tape through
   * these). A served tool call is recorded as `stubbed`; undefined means: call the world.
   */
  serve?: ServeHooks;
}

/** A request through rec.fetch as the recorder saw it: a `Request` input's method, headers and body included. */
export interface ServedFetchCall {
  key: string;
  url: string;
  init: RequestInit | undefined;
  method: string;
  headers: RequestInit['headers'] | Headers | undefined;
  body: string | null;
}

export interface ServeHooks {
  fetch?(call: ServedFetchCall): Response | undefined | Promise<Response | undefined>;
  tool?(call: {
    key: string;
    kind: 'tool' | 'retrieval';
    name: string;
    effect: ToolEffect;
    args: unknown;
    /** The hash of `args`' canonical JSON (the call's requestHash); absent when the arguments could not be taken. */
    argsHash?: string;
    /** The arguments' hash as recorders before 2026-11-26 took it, when it can differ (see legacyArgsHash). */
    legacyArgsHash?: () => string;
  }): { result: unknown } | { error: { name: string; message: string } } | undefined;
  clock?(key: string): number | undefined;
  random?(key: string): number | string | undefined;
}

export interface RunOptions {
  runId?: string;
  /** Injected time source: the run clock starts here and advances with real elapsed time. */
  startAt?: Date | number;
  /** Full control of the run clock (ms since epoch); wins over startAt. */
  now?: () => number;
  /** Seed of named random streams (hex); random by default. */
  seed?: string;
  externalIds?: Record<string, string>;
  fork?: ForkOrigin;
  /**
   * Refuses network requests made inside the run that do not go through `rec.fetch` (the egress
   * guard calls it): forks run the agent's code and must not reach the world behind our back.
   */
  blockEgress?: (url: string) => never;
}

export interface DecisionInput {
  type: string;
  subject: string;
  value: string;
  amount?: number | null;
  currency?: string | null;
  /** Whether the action can be undone where it landed. Default false: assume it cannot. */
  reversible?: boolean;
  /** Valid time; default the run clock now. */
  effectiveAt?: Date | string;
  attributes?: Record<string, string>;
  /** Seq of the model event the decision came from; default the latest model event. */
  basedOnSeq?: number | null;
}

export interface Recorder {
  /** Runs `fn(input)` as one recorded run and returns what it returns. */
  run<I, O>(input: I, fn: (input: I) => Promise<O> | O, options?: RunOptions): Promise<O>;
  /** A fetch for provider SDKs: `new OpenAI({ fetch: rec.fetch })`. */
  readonly fetch: typeof fetch;
  /** Wraps a tool. `effect` defaults to `write` so a replay never fires an unknown side effect. */
  tool<A extends unknown[], R>(name: string, fn: (...args: A) => R | Promise<R>, options?: { effect?: ToolEffect }): (...args: A) => Promise<Awaited<R>>;
  /** Wraps a retrieval source (always a read). */
  retrieval<A extends unknown[], R>(name: string, fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<Awaited<R>>;
  config(config: { promptVersion?: string | null; flags?: Record<string, unknown>; settings?: unknown }): void;
  decide(decision: DecisionInput): void;
  note(text: string, data?: unknown): void;
  /** A named random stream, recorded draw by draw. */
  random(name: string): () => number;
  /** Id of the run the caller is inside, or undefined. */
  currentRunId(): string | undefined;
  /**
   * Resolves when everything recorded so far is durable, or was given up on and reported through
   * onRecordingError. Never rejects.
   */
  flush(): Promise<void>;
}

/** The recorder createRecorder returns: a Recorder that also tells how its recording fares. */
export interface RecordingRecorder extends Recorder {
  /** Counters of the failure path: runs degraded, events dropped, marks pending, the last failure. */
  health(): RecorderHealth;
}

export function createRunId(atMs: number): string {
  const random = originals.randomBytes(6).toString('hex');
  return `run_${atMs.toString(36).padStart(9, '0')}${random}`;
}

/** `salt` left out takes the default; `salt: undefined` is what an unset `process.env.X!` gives, and is refused. */
function redactionOf({ redaction }: RecorderOptions, store: Store | undefined): RedactionOptions {
  if (redaction === undefined || !('salt' in redaction)) return { salt: defaultRedactionSalt(store), rules: redaction?.rules };
  assertRedactionSalt(redaction.salt);
  return { salt: redaction.salt, rules: redaction.rules };
}

/** The collector a recorder without a store sends to: the options', else RETRIAL_URL and RETRIAL_TOKEN. */
function collectorOf(options: RecorderOptions, environment: NodeJS.ProcessEnv = process.env): CollectorOptions & { url: string } {
  const url = options.collector?.url ?? (environment.RETRIAL_URL || undefined);
  if (url === undefined)
    throw new RetrialError({
      code: 'USAGE',
      message: 'createRecorder needs a store ({ store }) or a collector to send runs to ({ collector: { url, token } }, or RETRIAL_URL and RETRIAL_TOKEN).',
    });
  try {
    if (!/^https?:$/.test(new URL(url).protocol)) throw new Error('not http');
  } catch {
    throw new RetrialError({
      code: 'USAGE',
      message: `The collector URL "${url}" is not an http:// or https:// URL (RETRIAL_URL or collector.url), e.g. http://127.0.0.1:7778.`,
    });
  }
  const token = options.collector?.token ?? (environment.RETRIAL_TOKEN || undefined);
  return { ...options.collector, url, ...(token === undefined ? {} : { token }) };
}

function collectorSink(collector: CollectorOptions & { url: string }, onRefused: (runId: string, reason: string) => void): RecordingSink {
  return createCollectorSink({ ...COLLECTOR_DEFAULTS, ...collector, token: collector.token, onRefused });
}

export function createRecorder(options: RecorderOptions): RecordingRecorder {
  installGlobalPatches();
  const { store } = options;
  // A collector refuses a batch after the writer handed it over; the writer is made below.
  let lateRefusal: RecordingWriter['refusedLater'] = () => {};
  const sink: RecordingSink = store ? createStoreSink(store) : collectorSink(collectorOf(options), (runId, reason) => lateRefusal(runId, reason));
  const redactor: Redactor = createRedactor(redactionOf(options, store));
  const writer: RunWriter = { pid: process.pid, host: hostname() };
  const valueLimits: ValueLimits = {
    maxDepth: options.maxValueDepth ?? DEFAULT_VALUE_LIMITS.maxDepth,
    maxBytes: options.maxValueBytes ?? DEFAULT_VALUE_LIMITS.maxBytes,
  };

  const recording = createRecordingWriter({
    sink,
    writer,
    redactor,
    flushIntervalMs: options.flushIntervalMs ?? 20,
    maxBufferedEvents: options.maxBufferedEvents ?? 2000,
    maxPendingEvents: options.maxPendingEvents ?? 100_000,
    maxPendingBytes: options.maxPendingBytes ?? 256 * 1024 * 1024,
    retryIntervalMs: options.retryIntervalMs ?? 1000,
    maxLockWaitMs: options.maxLockWaitMs ?? 30_000,
    report: options.onRecordingError ?? createStderrReporter(),
  });
  lateRefusal = recording.refusedLater;
  const { flush, stopRun } = recording;

  /** Takes a value the agent hands over or receives; a refused one stops the run, never the agent. */
  function snapshotFor(tape: RunTapeWriter, what: string, value: unknown): ValueSnapshot | Promise<ValueSnapshot> {
    const settle = (snapshot: ValueSnapshot): ValueSnapshot => {
      if (!snapshot.ok) stopRun(tape, 'value', `${what}: ${snapshot.reason}`, false);
      return snapshot;
    };
    const refuse = (error: unknown): ValueSnapshot => {
      stopRun(tape, 'internal', `${what} could not be taken: ${error instanceof Error ? error.message : String(error)}`, false);
      return { ok: false, reason: 'internal' };
    };
    try {
      const snapshot = snapshotValue(value, valueLimits);
      return snapshot instanceof Promise ? snapshot.then(settle, refuse) : settle(snapshot);
    } catch (error) {
      return refuse(error);
    }
  }

  /** Runs a step of the recorder on the agent's path; a throw stops the run, never the agent. */
  function guarded<T>(tape: RunTapeWriter, what: string, step: () => T, kind: RecordingFailure['kind'] = 'internal'): T | undefined {
    try {
      return step();
    } catch (error) {
      stopRun(tape, kind, `${what} could not be recorded: ${error instanceof Error ? error.message : String(error)}`, false);
      return undefined;
    }
  }

  /** The agent's function threw: records the error and the failed ending. The agent gets its own error back. */
  async function recordFailedRun(scope: RunScope, tape: RunTapeWriter, error: unknown): Promise<void> {
    guarded(tape, 'the run error', () => {
      const failure = error instanceof Error ? error : new Error(String(error));
      const key = takeCausalKey(scope, 'error', failure.name);
      tape.push(
        () => ({
          kind: 'error',
          key,
          at: scope.now(),
          durationMs: 0,
          name: failure.name,
          message: redactor.text(failure.message),
          ...(failure.stack ? { stack: redactor.text(failure.stack) } : {}),
        }),
        'error',
      );
      recording.endRun(tape, { status: 'failed', output: undefined, error: { name: failure.name, message: redactor.text(failure.message) } });
    });
    await flush();
  }

  function recordingReads(scope: () => RunScope): NondeterminismReads {
    const streams = new Map<string, SeededStream>();
    return {
      clock(source, read) {
        const current = scope();
        const key = takeCausalKey(current, 'clock', source);
        const value = options.serve?.clock?.(key) ?? read();
        const at = current.now();
        current.tape.push(() => ({ kind: 'clock', key, at, durationMs: 0, source, value }), 'clock');
        return value;
      },
      random(source, draw) {
        const current = scope();
        const streamName = captureCallSite();
        const key = takeCausalKey(current, 'random', streamName);
        let stream = streams.get(streamName);
        if (!stream) {
          stream = new SeededStream(current.seed, streamName);
          streams.set(streamName, stream);
        }
        const served = options.serve?.random?.(key);
        const value = served === undefined ? draw(stream) : (served as ReturnType<typeof draw>);
        const at = current.now();
        current.tape.push(() => ({ kind: 'random', key, at, durationMs: 0, source, stream: streamName, value }), 'random');
        return value;
      },
    };
  }

  function buildHttpEvent(exchange: HttpExchange, blobs: BlobCollector): EventDraft {
    const effect: ToolEffect = ['GET', 'HEAD', 'OPTIONS'].includes(exchange.method.toUpperCase()) ? 'read' : 'write';
    const args = { method: exchange.method, url: exchange.url, headers: exchange.requestHeaders, body: exchange.requestText };
    const result =
      exchange.error && exchange.status === null ? null : { status: exchange.status, headers: exchange.responseHeaders, body: exchange.responseText };
    // A blob's ref is the hash of its canonical JSON: it is the request hash, with no second hashing.
    const argsRef = blobs.put(args);
    return {
      kind: 'tool',
      key: exchange.key,
      at: exchange.at,
      durationMs: exchange.durationMs,
      name: `http ${exchange.method} ${hostOf(exchange.url)}`,
      effect,
      args: argsRef,
      requestHash: argsRef,
      result: result === null ? null : blobs.put(result),
      ...(exchange.error ? { error: { name: 'FetchError', message: exchange.error } } : {}),
      ...(exchange.stubbed ? { stubbed: true } : {}),
    };
  }

  /**
   * The blobs of a received value: a large one is redacted, canonicalized and hashed in slices
   * from now on, off the agent's path, so its event's builder only waits for them.
   */
  function receivedBlobs(snapshot: Extract<ValueSnapshot, { ok: true }>): ReceivedBlobs {
    return snapshot.bytes < SLICED_FROM_BYTES ? smallReceivedBlobs(snapshot.value) : largeReceivedBlobs(snapshot.value, snapshot.keysInOrder);
  }

  /** receivedBlobs as a guarded step, in a scope of its own: a caller's closures must not keep the snapshot alive (see largeReceivedBlobs). */
  function guardedReceivedBlobs(tape: RunTapeWriter, what: string, snapshot: Extract<ValueSnapshot, { ok: true }>): ReceivedBlobs | undefined {
    return guarded(tape, what, () => receivedBlobs(snapshot));
  }

  function smallReceivedBlobs(value: unknown): ReceivedBlobs {
    return (blobs) => {
      const { ref, text } = blobs.putReceived(redactor.value(value));
      return text ? { ref, text } : { ref };
    };
  }

  /**
   * The snapshot is the recorder's own copy, so it is redacted in place, in slices too. Nothing
   * here holds it once its blobs are made: a 50 MB value's copy is ~100 MB of objects that every
   * later full garbage collection would mark again until the event is built.
   */
  function largeReceivedBlobs(value: unknown, keysInOrder: boolean): ReceivedBlobs {
    const prepared = redactor.ownedValueInSlices(value).then((redacted) => prepareReceivedBlobs(redacted, keysInOrder));
    // Its failure is the event's, reported when the event is built.
    prepared.catch(() => {});
    return async (blobs) => {
      const { value: canonical, text } = await prepared;
      return text ? { ref: blobs.putPrepared(canonical), text: blobs.putPrepared(text) } : { ref: blobs.putPrepared(canonical) };
    };
  }

  /** A tool or retrieval result as the agent received it, redacted, with its key order when that differs. */
  function receivedResult(blobs: BlobCollector, value: unknown): { result: string; resultText?: string } {
    const { ref, text } = blobs.putReceived(redactor.value(value));
    return text ? { result: ref, resultText: text } : { result: ref };
  }

  /**
   * Asks a serve hook for a call, with its redacted arguments and their hash (the requestHash the
   * call gets); large arguments are waited for, as they are redacted and hashed in slices.
   */
  async function serveTool(
    hook: NonNullable<ServeHooks['tool']>,
    call: { key: string; kind: 'tool' | 'retrieval'; name: string; effect: ToolEffect },
    takenArgs: TakenArguments | undefined,
    args: unknown[],
  ): Promise<ReturnType<NonNullable<ServeHooks['tool']>>> {
    const redacted = takenArgs?.redacted();
    const hash = takenArgs?.hash();
    return hook({
      ...call,
      args: redacted instanceof Promise ? await redacted : redacted,
      ...(hash === undefined ? {} : { argsHash: hash instanceof Promise ? await hash : hash }),
      legacyArgsHash: legacyArgsHash(redactor, args),
    });
  }

  function wrapCall<A extends unknown[], R>(kind: 'tool' | 'retrieval', name: string, effect: ToolEffect, fn: (...args: A) => R | Promise<R>) {
    return async (...args: A): Promise<Awaited<R>> => {
      const scope = maybeCurrentRun();
      if (!scope || scope.mode === 'opaque') {
        if (scope?.writesRefused && effect === 'write')
          throw new TypeError(`${name} is a write tool, called inside a read that a fork runs live: it does not run there, so no side effect fires`);
        return (await fn(...args)) as Awaited<R>;
      }
      if (scope.blockEgress && !options.serve) throw foreignCallInReplay(`${kind} ${name}`);
      const key = takeCausalKey(scope, kind, name);
      const startedAfter = scope.tape.eventCount;
      const at = scope.now();
      const started = originals.performanceNow();
      const site = captureAgentSite();
      const argsTaken = snapshotFor(scope.tape, `${kind} ${name} arguments`, args);
      const argsSnapshot = argsTaken instanceof Promise ? await argsTaken : argsTaken;
      const takenArgs = argsSnapshot.ok ? guarded(scope.tape, `${kind} ${name} arguments`, () => takeArguments(redactor, argsSnapshot)) : undefined;
      // Counted with the result against maxPendingBytes: the event holds them until it is built.
      const argsBytes = argsSnapshot.ok ? argsSnapshot.bytes : 0;
      const argsRefOf = (blobs: BlobCollector) => (takenArgs ? takenArgs.ref(blobs) : blobs.put(undefined));
      // A write must not happen before the context that led to it is durable (flush never rejects).
      if (effect === 'write') await flush();
      const served = options.serve?.tool ? await serveTool(options.serve.tool, { key, kind, name, effect }, takenArgs, args) : undefined;
      if (served) {
        const durationMs = originals.performanceNow() - started;
        const servedTaken = 'result' in served ? snapshotFor(scope.tape, `${kind} ${name} result`, served.result) : null;
        const servedSnapshot = servedTaken instanceof Promise ? await servedTaken : servedTaken;
        const servedResult = servedSnapshot?.ok ? servedSnapshot.value : null;
        scope.tape.push(
          (blobs) => {
            const build = (argsRef: string): EventDraft => {
              const requestHash = argsRef;
              const outcome = 'result' in served ? receivedResult(blobs, servedResult) : { result: null, error: served.error };
              const where = site ? { site, startedAfter } : { startedAfter };
              return kind === 'tool'
                ? { kind, key, at, durationMs, ...where, name, effect, args: argsRef, requestHash, ...outcome, stubbed: true }
                : { kind, key, at, durationMs, ...where, name, query: argsRef, requestHash, ...outcome, stubbed: true };
            };
            const argsRef = argsRefOf(blobs);
            return argsRef instanceof Promise ? argsRef.then(build) : build(argsRef);
          },
          kind,
          argsBytes,
        );
        if ('error' in served) throw Object.assign(new Error(served.error.message), { name: served.error.name });
        return served.result as Awaited<R>;
      }
      // In a fork, a read its serve hook let go live reaches its world; a write from inside it does not.
      const opaqueScope: RunScope = scope.blockEgress
        ? { ...scope, mode: 'opaque', blockEgress: undefined, writesRefused: true }
        : { ...scope, mode: 'opaque' };
      const push = (result: { ok: true; snapshot: Extract<ValueSnapshot, { ok: true }> } | { ok: false; error: Error }) => {
        const durationMs = originals.performanceNow() - started;
        const received = result.ok ? guardedReceivedBlobs(scope.tape, `${kind} ${name} result`, result.snapshot) : undefined;
        if (result.ok && !received) return;
        const failed = result.ok ? undefined : { name: result.error.name, message: redactor.text(result.error.message) };
        scope.tape.push(
          (blobs) => {
            const build = (argsRef: string, refs: { ref: string; text?: string } | undefined): EventDraft => {
              const outcome = refs ? { result: refs.ref, ...(refs.text ? { resultText: refs.text } : {}) } : { result: null, error: failed };
              const requestHash = argsRef;
              const where = site ? { site, startedAfter } : { startedAfter };
              return kind === 'tool'
                ? { kind, key, at, durationMs, ...where, name, effect, args: argsRef, requestHash, ...outcome }
                : { kind, key, at, durationMs, ...where, name, query: argsRef, requestHash, ...outcome };
            };
            // Synchronous unless large arguments or a large result are still being canonicalized.
            const argsRef = argsRefOf(blobs);
            const refs = received?.(blobs);
            return argsRef instanceof Promise || refs instanceof Promise
              ? Promise.all([argsRef, refs]).then(([argsDone, refsDone]) => build(argsDone, refsDone))
              : build(argsRef, refs);
          },
          kind,
          argsBytes + (result.ok ? result.snapshot.bytes : 0),
        );
      };
      let value: Awaited<R>;
      try {
        value = (await runInScope(opaqueScope, () => fn(...args))) as Awaited<R>;
      } catch (error) {
        push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
        throw error;
      }
      // Taken before the agent gets the value back, so what it does to the value later cannot reach the tape.
      const taken = snapshotFor(scope.tape, `${kind} ${name} result`, value);
      const snapshot = taken instanceof Promise ? await taken : taken;
      if (snapshot.ok) push({ ok: true, snapshot });
      return value;
    };
  }

  const recorder: RecordingRecorder = {
    fetch: createRecordingFetch({ baseFetch: options.baseFetch ?? globalThis.fetch, redactor, flush, buildHttpEvent, serve: options.serve?.fetch }),

    async run<I, O>(input: I, fn: (input: I) => Promise<O> | O, runOptions: RunOptions = {}): Promise<O> {
      const perfStart = originals.performanceNow();
      const startAt = runOptions.startAt === undefined ? undefined : typeof runOptions.startAt === 'number' ? runOptions.startAt : runOptions.startAt.getTime();
      const now = runOptions.now ?? (startAt === undefined ? originals.dateNow : () => startAt + (originals.performanceNow() - perfStart));
      const recordedAt = now();
      const header: RunHeader = {
        formatVersion: TAPE_FORMAT_VERSION,
        runId: runOptions.runId ?? createRunId(recordedAt),
        agent: options.agent,
        codeVersion: options.codeVersion ?? 'unversioned',
        recordedAt: new originals.Date(recordedAt).toISOString(),
        wallClockAt: new originals.Date(originals.dateNow()).toISOString(),
        timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        seed: runOptions.seed ?? originals.randomBytes(16).toString('hex'),
        recorderFlags: [...CURRENT_RECORDER_FLAGS],
        externalIds: redactor.value(runOptions.externalIds ?? {}),
        recorder: RECORDER_NAME,
        ...(runOptions.fork ? { fork: runOptions.fork } : {}),
      };
      const rootHash = chainRoot(header);
      const record: RunRecord = { header, status: 'recording', rootHash, headHash: rootHash, sealHash: null, eventCount: 0, ending: null };
      const tape = recording.startRun(record);
      let scope: RunScope;
      const reads = recordingReads(() => scope);
      scope = {
        runId: header.runId,
        tape,
        now,
        seed: header.seed,
        parentKey: '',
        mode: 'record',
        reads,
        ordinals: new Map(),
        ...(runOptions.blockEgress ? { blockEgress: runOptions.blockEgress } : {}),
      };
      const inputKey = takeCausalKey(scope, 'input', 'input');
      const inputTaken = snapshotFor(tape, 'run input', input);
      const inputSnapshot = inputTaken instanceof Promise ? await inputTaken : inputTaken;
      if (inputSnapshot.ok) {
        const inputBlobs = guardedReceivedBlobs(tape, 'run input', inputSnapshot);
        if (inputBlobs)
          tape.push(
            (blobs) => {
              const build = ({ ref, text }: { ref: string; text?: string }): EventDraft => ({
                kind: 'input',
                key: inputKey,
                at: recordedAt,
                durationMs: 0,
                value: ref,
                ...(text ? { valueText: text } : {}),
              });
              const refs = inputBlobs(blobs);
              return refs instanceof Promise ? refs.then(build) : build(refs);
            },
            'input',
            inputSnapshot.bytes,
          );
      }
      let output: O;
      try {
        output = await runInScope(scope, () => fn(input));
      } catch (error) {
        await recordFailedRun(scope, tape, error);
        throw error;
      }
      const outputTaken = snapshotFor(tape, 'run output', output ?? null);
      const outputSnapshot = outputTaken instanceof Promise ? await outputTaken : outputTaken;
      recording.endRun(tape, { status: 'complete', output: outputSnapshot.ok ? outputSnapshot.value : null, error: null });
      await flush();
      return output;
    },

    tool(name, fn, toolOptions) {
      return wrapCall('tool', name, toolOptions?.effect ?? 'write', fn);
    },

    retrieval(name, fn) {
      return wrapCall('retrieval', name, 'read', fn);
    },

    config({ promptVersion = null, flags = {}, settings }) {
      const scope = assertInRun('rec.config');
      const key = takeCausalKey(scope, 'config', 'config');
      const at = scope.now();
      scope.tape.push(
        (blobs) => ({
          kind: 'config',
          key,
          at,
          durationMs: 0,
          promptVersion: promptVersion === null ? null : redactor.text(promptVersion),
          flags: redactor.value(flags),
          settings: settings === undefined ? null : blobs.put(redactor.value(settings)),
        }),
        'config',
      );
    },

    decide(decision) {
      const scope = assertInRun('rec.decide');
      const key = takeCausalKey(scope, 'decision', decision.type);
      const at = scope.now();
      const effectiveAt = guarded(
        scope.tape,
        `decision ${decision.type} effectiveAt`,
        () => (decision.effectiveAt === undefined ? new originals.Date(at).toISOString() : new originals.Date(decision.effectiveAt).toISOString()),
        'value',
      );
      const basedOnSeq = decision.basedOnSeq === undefined ? scope.tape.latestModelSeq : decision.basedOnSeq;
      scope.tape.push(
        () => ({
          kind: 'decision',
          key,
          at,
          durationMs: 0,
          type: decision.type,
          // Redacted like any text: equal subjects stay equal tokens, so backfill still groups by them.
          subject: redactor.text(decision.subject),
          value: redactor.text(decision.value),
          amount: decision.amount ?? null,
          currency: decision.currency ?? null,
          reversible: decision.reversible ?? false,
          effectiveAt,
          basedOnSeq,
          attributes: redactor.value(decision.attributes ?? {}),
        }),
        'decision',
      );
    },

    note(text, data) {
      const scope = assertInRun('rec.note');
      const key = takeCausalKey(scope, 'note', 'note');
      const at = scope.now();
      const snapshot = data === undefined ? undefined : jsonSnapshot(data);
      scope.tape.push(
        () => ({ kind: 'note', key, at, durationMs: 0, text: redactor.text(text), ...(snapshot === undefined ? {} : { data: redactor.value(snapshot) }) }),
        'note',
      );
    },

    random(name) {
      return () => {
        const scope = assertInRun('rec.random');
        if (scope.mode === 'opaque') return originals.mathRandom();
        const key = takeCausalKey(scope, 'random', name);
        const stream = new SeededStream(scope.seed, `${name}#${key}`);
        const value = stream.nextFloat();
        const at = scope.now();
        scope.tape.push(() => ({ kind: 'random', key, at, durationMs: 0, source: 'rec.random', stream: name, value }), 'random');
        return value;
      };
    },

    currentRunId() {
      return maybeCurrentRun()?.runId;
    },

    async flush() {
      // Through a collector, what the writer handed over is durable once the collector acknowledged
      // it. A refusal it answers with queues marks, sent in a second round (at most a few).
      for (let round = 0; round < 4; round++) {
        await flush();
        if (!(await sink.settle())) return;
        if (sink.unsent().batches === 0 && recording.health().marksPending === 0) return;
      }
    },

    health: recording.health,
  };
  return recorder;
}
