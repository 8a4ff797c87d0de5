import { detectWireFormatFromText } from '../providers/index.ts';
import {
  captureAgentSite,
  captureCallSite,
  createRedactor,
  legacyArgsHash,
  maybeCurrentRun,
  type NondeterminismReads,
  type Recorder,
  type Redactor,
  type RunScope,
  type RunTapeWriter,
  replayedArguments,
  SeededStream,
  takeCausalKey,
} from '../record/index.ts';
import { StoreError } from '../store/index.ts';
import { createBlob, type StreamChunk, type TapeEvent } from '../tape/index.ts';
import { EgressBlockedError } from './divergence.ts';
import { applyForkOverrides, applyForkOverridesToUrl, type ForkOverrides } from './fork-overrides.ts';
import { diffJson } from './json-diff.ts';
import { httpArgsRedactedToday, replayedHttpArgsForOldTape } from './old-redaction.ts';
import { type HttpArgs, portableHttpRequest } from './portable-keys.ts';
import type { ReplayLedger } from './replay-ledger.ts';
import { comparableIfNotSameBytes, recordedComparable, recordedRequestRefs, sameRedactedToday } from './request-match.ts';
import { replayHeaders, replayStreamBody } from './served-response.ts';

export interface ReplayRecorderOptions {
  /** Salt and rules the recording used, so replayed requests are redacted the same way. */
  redaction: { salt: string; rules?: Parameters<typeof createRedactor>[0]['rules'] };
  /** Re-stream recorded chunks at their recorded pace (default: as fast as the reader reads). */
  paceStreams?: boolean;
}

/** What one replayed run brings to the recorder: its ledger and, for a fork child, the fork. */
export interface ReplayedRun {
  ledger: ReplayLedger;
  /** For a fork child: the overrides its model calls carried from the fork step on. */
  fork?: { fromOrdinal: number; overrides: ForkOverrides };
}

/**
 * The run being replayed, by the tape writer of its run scope (one per run, shared by every
 * scope of the run). One replay recorder, and so one agent instance, serves run after run (or
 * several at once), as the recording recorder does in production. Not a second
 * AsyncLocalStorage: each one adds work to every promise the agent creates.
 */
const replayedRuns = new WeakMap<RunTapeWriter, ReplayedRun>();

/** Makes `scope`'s calls to the replay recorder serve `run`. */
export function bindReplayedRun(scope: RunScope, run: ReplayedRun): void {
  replayedRuns.set(scope.tape, run);
}

/**
 * Ends `scope`'s replay by releasing its ledger: later calls through the scope are refused, reads
 * get stand-ins (see ReplayLedger.take), and the tape can be collected.
 */
export function endReplayedRun(scope: RunScope): void {
  replayedRuns.get(scope.tape)?.ledger.release();
}

/**
 * A Recorder that serves everything from a tape instead of the world. The agent's own code gets
 * it in place of the real recorder: its model calls, tools, retrievals, clock and random reads
 * are answered from the tape, matched by causal key and checked by content. No tool body ever
 * runs and no request leaves the process.
 */
export function createReplayRecorder(options: ReplayRecorderOptions): Recorder & { reads(scopeOf: () => RunScope, run: ReplayedRun): NondeterminismReads } {
  const redactor: Redactor = createRedactor(options.redaction);

  function replayedOrThrow(what: string): { scope: RunScope; ledger: ReplayLedger; fork: ReplayedRun['fork'] } {
    const scope = maybeCurrentRun();
    const run = scope && replayedRuns.get(scope.tape);
    if (!scope?.blockEgress || !run)
      throw new TypeError(`${what} was called outside the replayed run; in replay every call must happen inside the agent function.`);
    return { scope, ledger: run.ledger, fork: run.fork };
  }

  /**
   * Compares a call's content hash with the recorded one. `legacyHash` is the hash as older
   * recorders took it, where that can differ. A payload mismatch is recorded at once, so it keeps
   * its place before whatever concurrent calls find meanwhile; its field diff needs `requestRefs`
   * read (the tape was loaded with the served blobs only) and is filled in after. On a tape
   * recorded before RecorderFlag.WideRedaction, `sameRedactedToday` (called with `requestRefs`
   * loaded) may still find the call the same, and the noted divergence is withdrawn.
   */
  async function checkContent(
    ledger: ReplayLedger,
    event: TapeEvent & { requestHash: string },
    hash: string,
    key: string,
    site: () => string | null,
    requestRefs: string[],
    expected: () => unknown,
    received: () => unknown,
    legacyHash?: () => string,
    sameRedactedToday?: () => boolean,
  ): Promise<void> {
    if (event.requestHash === hash || (legacyHash && event.requestHash === legacyHash())) return;
    const swapped = ledger.findSwapped(event.kind, hash);
    if (swapped) {
      ledger.diverge({
        code: 'ORDER_MISMATCH',
        seq: event.seq,
        causalKey: key,
        site: site(),
        recordedSite: event.site ?? null,
        message: `the replay made at ${key} the call the tape has at ${swapped.key}`,
      });
      return;
    }
    const divergence = ledger.note({
      code: 'PAYLOAD_MISMATCH',
      seq: event.seq,
      causalKey: key,
      site: site(),
      recordedSite: event.site ?? null,
      message: `${key} was called with different ${event.kind === 'model' ? 'request content' : 'arguments'} than recorded`,
    });
    try {
      // Read before the await; `expected` reads the tape its caller held, as a concurrent call
      // may end the replay (releasing the ledger's tape) while these blobs load.
      await ledger.tape.loadBlobs(requestRefs);
      if (sameRedactedToday && !ledger.wideRedaction && sameRedactedToday()) {
        ledger.withdraw(divergence);
        return;
      }
      divergence.differences = diffJson(expected(), received());
    } catch (error) {
      // A store that cannot be read is the command's failure, not a detail of this divergence.
      if (error instanceof StoreError) throw error;
      divergence.message += ` (the recorded ${event.kind === 'model' ? 'request' : 'arguments'} could not be read to compare: ${(error as Error).message})`;
    }
    ledger.raise(divergence);
  }

  const replayFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const { scope, ledger, fork } = replayedOrThrow('fetch');
    const { tape } = ledger;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const bodyText = typeof init?.body === 'string' ? init.body : null;
    const format = bodyText === null ? undefined : detectWireFormatFromText(url, bodyText);
    const key = takeCausalKey(scope, format ? 'model' : 'http', format ? format.id : method);
    // A fork child's calls from its fork step on were sent with the fork's overrides: expected, not a divergence.
    const forked = format && fork && Number(key.slice(key.lastIndexOf('#') + 1)) >= fork.fromOrdinal;
    const requestText = forked && bodyText !== null && fork ? applyForkOverrides(bodyText, fork.overrides) : bodyText;
    const site = captureAgentSite;
    const recorded = ledger.take(key, format ? 'model' : 'tool', site);
    if (!recorded) throw new EgressBlockedError({ url });
    if (recorded.kind === 'model' && format && requestText !== null) {
      const comparable = comparableIfNotSameBytes(
        tape,
        recorded,
        format,
        requestText,
        redactor,
        forked && fork ? applyForkOverridesToUrl(url, fork.overrides) : url,
      );
      if (comparable) {
        await checkContent(
          ledger,
          recorded,
          createBlob(comparable).hash,
          key,
          site,
          recordedRequestRefs(recorded),
          () => recordedComparable(tape, recorded),
          () => comparable,
          undefined,
          () => sameRedactedToday(tape, recorded, comparable, redactor),
        );
      }
      if (recorded.wire.status === null) throw new TypeError(`fetch failed (replayed from the tape: ${recorded.error?.message ?? 'no response'})`);
      const headers = replayHeaders(tape.blob(recorded.wire.responseHeaders));
      if (recorded.wire.streamChunks) {
        const chunks = tape.blob<StreamChunk[]>(recorded.wire.streamChunks);
        return new Response(replayStreamBody(chunks, { pace: options.paceStreams }), { status: recorded.wire.status, headers });
      }
      return new Response(recorded.wire.responseBody ? tape.blob<string>(recorded.wire.responseBody) : '', { status: recorded.wire.status, headers });
    }
    if (recorded.kind === 'tool') {
      const args = {
        method,
        url: redactor.url(url),
        headers: redactor.headers(new Headers(init?.headers)),
        body: requestText === null ? null : redactor.text(requestText),
      };
      const hash = createBlob(args).hash;
      // Another host, port or client version than recorded is the same call (portableHttpRequest).
      // A tape from before RecorderFlag.WideRedaction: compared again with both sides redacted today.
      const samePortable = (recordedArgs: HttpArgs) =>
        createBlob(portableHttpRequest(recordedArgs)).hash === createBlob(portableHttpRequest(args)).hash ||
        (!ledger.wideRedaction &&
          createBlob(portableHttpRequest(httpArgsRedactedToday(redactor, recordedArgs))).hash ===
            createBlob(portableHttpRequest(replayedHttpArgsForOldTape(redactor, url, args))).hash);
      const sameCall =
        recorded.requestHash === hash ||
        (await ledger.tape.loadBlobs([recorded.args]).then(
          () => samePortable(tape.blob<HttpArgs>(recorded.args)),
          () => false,
        ));
      if (!sameCall)
        await checkContent(
          ledger,
          recorded,
          hash,
          key,
          site,
          [recorded.args],
          () => portableHttpRequest(tape.blob<HttpArgs>(recorded.args)),
          () => portableHttpRequest(args),
        );
      const result = recorded.result ? tape.blob<{ status: number; headers: Record<string, string>; body: string | null }>(recorded.result) : null;
      if (!result) throw new TypeError(`fetch failed (replayed from the tape: ${recorded.error?.message ?? 'no response'})`);
      return new Response(result.body, { status: result.status, headers: replayHeaders(result.headers) });
    }
    throw new EgressBlockedError({ url });
  };

  function wrapCall<A extends unknown[], R>(kind: 'tool' | 'retrieval', name: string) {
    return async (...args: A): Promise<Awaited<R>> => {
      const { scope, ledger } = replayedOrThrow(`${kind} ${name}`);
      const { tape } = ledger;
      const key = takeCausalKey(scope, kind, name);
      const site = captureAgentSite;
      const recorded = ledger.take(key, kind, site);
      if (!recorded || (recorded.kind !== 'tool' && recorded.kind !== 'retrieval')) throw new EgressBlockedError({ url: `${kind}:${name}` });
      const argsRef = recorded.kind === 'tool' ? recorded.args : recorded.query;
      // Taken as the recorder took them, so the hash is the requestHash; large ones in slices.
      const replayed = replayedArguments(redactor, args);
      const { redacted: redactedArgs, hash } = replayed instanceof Promise ? await replayed : replayed;
      await checkContent(
        ledger,
        recorded,
        hash,
        key,
        site,
        [argsRef],
        () => tape.blob(argsRef),
        () => redactedArgs,
        legacyArgsHash(redactor, args),
        // The recorded arguments must be what the recorded hash was taken over (it is their blob's).
        () => recorded.requestHash === argsRef && createBlob(redactor.value(tape.blob(argsRef))).hash === hash,
      );
      if (recorded.error) throw Object.assign(new Error(recorded.error.message), { name: recorded.error.name });
      return tape.received(recorded) as Awaited<R>;
    };
  }

  function takeSimple<K extends TapeEvent['kind']>(kind: K, name: string): { recorded: Extract<TapeEvent, { kind: K }> | undefined; ledger: ReplayLedger } {
    const { scope, ledger } = replayedOrThrow(`rec.${kind}`);
    const key = takeCausalKey(scope, kind, name);
    return { recorded: ledger.take(key, kind, captureAgentSite) as Extract<TapeEvent, { kind: K }> | undefined, ledger };
  }

  const recorder: Recorder & { reads(scopeOf: () => RunScope, run: ReplayedRun): NondeterminismReads } = {
    fetch: replayFetch as typeof fetch,
    run: () => {
      throw new TypeError('rec.run is not available inside a replay; the replayer runs the agent function itself.');
    },
    tool: (name) => wrapCall('tool', name),
    retrieval: (name) => wrapCall('retrieval', name),
    config({ promptVersion = null, flags = {}, settings }) {
      const { recorded, ledger } = takeSimple('config', 'config');
      if (!recorded) return;
      // Redacted as the recorder redacted them, so a matching rule is not a difference.
      const received = {
        promptVersion: promptVersion === null ? null : redactor.text(promptVersion),
        flags: redactor.value(flags),
        settings: settings === undefined ? null : createBlob(redactor.value(settings)).hash,
      };
      // A tape from before RecorderFlag.WideRedaction kept them as given: redacted today too, to compare alike.
      const old = !ledger.wideRedaction;
      const expected = {
        promptVersion: old && recorded.promptVersion !== null ? redactor.text(recorded.promptVersion) : recorded.promptVersion,
        flags: old ? redactor.value(recorded.flags) : recorded.flags,
        settings: recorded.settings,
      };
      const differences = diffJson(expected, received);
      if (differences.length)
        ledger.diverge({
          code: 'PAYLOAD_MISMATCH',
          seq: recorded.seq,
          causalKey: recorded.key,
          message: 'the agent ran with a different prompt version or flags than recorded',
          differences,
        });
    },
    decide(decision) {
      const { recorded, ledger } = takeSimple('decision', decision.type);
      if (!recorded) return;
      // Valid time defaults to the run clock, which replay serves differently; compare what was decided.
      const pick = (value: {
        subject: string;
        value: string;
        amount?: number | null;
        currency?: string | null;
        reversible?: boolean;
        attributes?: Record<string, string>;
      }) => ({
        subject: value.subject,
        value: value.value,
        amount: value.amount ?? null,
        currency: value.currency ?? null,
        reversible: value.reversible ?? false,
        attributes: value.attributes ?? {},
      });
      const replayed = pick(decision);
      const redacted = {
        ...replayed,
        subject: redactor.text(replayed.subject),
        value: redactor.text(replayed.value),
        attributes: redactor.value(replayed.attributes),
      };
      const expected = pick(recorded);
      // A tape from before RecorderFlag.WideRedaction kept these as given: redacted today too, to compare alike.
      if (!ledger.wideRedaction)
        Object.assign(expected, {
          subject: redactor.text(expected.subject),
          value: redactor.text(expected.value),
          attributes: redactor.value(expected.attributes),
        });
      const differences = diffJson(expected, redacted);
      if (differences.length)
        ledger.diverge({
          code: 'OUTPUT_MISMATCH',
          seq: recorded.seq,
          causalKey: recorded.key,
          message: `the decision ${decision.type} differs from the recorded one`,
          differences,
        });
    },
    note() {
      // Notes never take part in replay.
    },
    random(name) {
      return () => {
        const { recorded, ledger } = takeSimple('random', name);
        if (recorded && typeof recorded.value === 'number') return recorded.value;
        // After the replay returned (a timer the agent left): a stand-in, as for Math.random then.
        return ledger.released ? new SeededStream('replay', `random:${name}`).nextFloat() : Number.NaN;
      };
    },
    currentRunId: () => maybeCurrentRun()?.runId,
    flush: async () => {},
    reads(scopeOf, { ledger }) {
      return {
        clock(source) {
          const scope = scopeOf();
          const key = takeCausalKey(scope, 'clock', source);
          const recorded = ledger.take(key, 'clock', captureAgentSite, captureCallSite);
          if (recorded?.kind === 'clock') return recorded.value;
          // After the replay returned (a timer the agent left), the run clock as it last stood, so
          // `new Date()` there stays a valid date; in a lenient replay, an unrecorded read is NaN.
          return ledger.released && source !== 'performance.now' ? scope.now() : Number.NaN;
        },
        random(_source, draw) {
          const scope = scopeOf();
          const stream = captureCallSite(!ledger.portableKeys);
          const key = takeCausalKey(scope, 'random', stream);
          const recorded = ledger.take(key, 'random', captureAgentSite);
          if (recorded?.kind === 'random') return recorded.value as never;
          // Lenient replay, or a read after the replay returned: a deterministic stand-in of the
          // shape the source gives (a float, a UUID, so many bytes), so later code can go on.
          return draw(new SeededStream('replay', key));
        },
      };
    },
  };
  return recorder;
}
