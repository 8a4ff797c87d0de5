import { loadTape, StepNotFoundError } from '../inspect/index.ts';
import { detectWireFormatFromText, parseGeminiPath } from '../providers/index.ts';
import { type AgentDefinition, createRecorder, createRedactor, maybeCurrentRun, type Recorder, type ServeHooks } from '../record/index.ts';
import type { Store } from '../store/index.ts';
import { createBlob, RetrialError, type StreamChunk, type TapeEvent } from '../tape/index.ts';
import { EgressBlockedError, type RefusedRequest } from './divergence.ts';
import { installEgressGuard, runSanctioned, sealEgress, unguardedFetch } from './egress-guard.ts';
import { applyForkOverrides, applyForkOverridesToUrl, type ForkOverrides } from './fork-overrides.ts';
import { describeFailure, displayUrl, endpointUrl, isEndpointFailure } from './model-endpoint.ts';
import { httpArgsRedactedToday, redactedBeforeWideRules, replayedHttpArgsForOldTape } from './old-redaction.ts';
import { type HttpArgs, keyedEvents, portableHttpRequest } from './portable-keys.ts';
import { comparableIfNotSameBytes, sameRedactedToday } from './request-match.ts';
import { replayHeaders, replayStreamBody } from './served-response.ts';

export interface ForkOptions {
  store: Store;
  /** The parent run. */
  runId: string;
  /** Seq of the parent's model step from which the child goes live. */
  atSeq: number;
  agent: AgentDefinition<never, unknown, unknown>;
  redactionSalt: string;
  overrides: ForkOverrides;
  /** Read tools whose call is not on the parent tape: `frozen` refuses them, `live` runs them. */
  reads: 'frozen' | 'live' | 'current';
  /** `recorded` (default) serves the parent's clock reads; `now` lets the clock run from the present. */
  clock?: 'recorded' | 'now';
  /** Where live model calls go: OpenAI-compatible base URL ending in /v1 (or the Anthropic base URL). */
  endpoint: { baseUrl: string; apiKey: string };
  /** How live model calls reach the endpoint (default the global fetch); backfill passes the in-process simulator. */
  fetch?: typeof fetch;
  services?: unknown;
  /**
   * The environment `create()` receives (default `process.env`). Live model calls go to
   * `endpoint` whatever base URL the agent reads from it.
   */
  env?: Record<string, string | undefined>;
  childRunId?: string;
}

export interface ForkResult {
  childRunId: string;
  parentRunId: string;
  atSeq: number;
  /** Causal key of the step where the child went live. */
  liveFrom: string;
  output: unknown;
  error: string | null;
  /**
   * Set when the last live model request failed (no answer, or HTTP 401, 403, 404, 429 or 5xx)
   * and no later one was answered: why. Set even when the agent carried on without the answer.
   */
  endpointError: string | null;
  /** Set when the child left the parent's path before the fork step: the first such call, and what to do. */
  refusal: string | null;
  /** Calls answered from the parent tape, live model calls, write tools stubbed. */
  counts: { servedFromParent: number; liveModelCalls: number; stubbedWrites: number; liveReads: number };
  /** Requests made outside the run while the fork ran (timers, an SDK's exporters), refused. */
  refusedRequests: RefusedRequest[];
}

export class ForkError extends RetrialError {
  constructor(message: string) {
    super({ code: 'USAGE', message });
    this.name = 'ForkError';
  }
}

const ordinalOf = (key: string) => Number(key.slice(key.lastIndexOf('#') + 1));

/**
 * Runs the agent's code again as a new child run: strictly from the parent tape up to the fork
 * step, live from there (new model, prompt or sampling). Later read tools are served from the
 * parent tape by content where they match; write tools are always stubbed and recorded as such.
 */
export async function forkRun(options: ForkOptions): Promise<ForkResult> {
  installEgressGuard();
  const refusedRequests: RefusedRequest[] = [];
  // Sealed while it runs: only the tape and the live model (through unguardedFetch) answer.
  const unseal = sealEgress((refused) => refusedRequests.push(refused));
  try {
    return { ...(await forkSealed(options)), refusedRequests };
  } finally {
    unseal();
  }
}

async function forkSealed(options: ForkOptions): Promise<Omit<ForkResult, 'refusedRequests'>> {
  const tape = await loadTape(options.store, options.runId);
  const forkEvent = tape.events.find((event) => event.seq === options.atSeq);
  if (!forkEvent) throw new StepNotFoundError({ runId: options.runId, step: options.atSeq, last: tape.events.length - 1 });
  if (forkEvent.kind !== 'model')
    throw new ForkError(
      `Step ${options.atSeq} of ${options.runId} is not a model step; fork at one of: ${tape.events
        .filter((event) => event.kind === 'model')
        .map((event) => event.seq)
        .join(', ')}.`,
    );
  const liveFromOrdinal = ordinalOf(forkEvent.key);
  const byKey = keyedEvents(tape.events, tape.run.header.recorderFlags);
  const counts = { servedFromParent: 0, liveModelCalls: 0, stubbedWrites: 0, liveReads: 0 };
  const parentTool = (key: string, name: string) => {
    const event = byKey.get(key);
    return event && (event.kind === 'tool' || event.kind === 'retrieval') && event.name === name ? event : undefined;
  };
  const sameContent = (kind: string, name: string, hash: string) =>
    tape.events.find(
      (event): event is Extract<TapeEvent, { kind: 'tool' | 'retrieval' }> =>
        (event.kind === 'tool' || event.kind === 'retrieval') && event.kind === kind && event.name === name && event.requestHash === hash,
    );
  /** A parent call's arguments redacted by today's rules (for tapes from before RecorderFlag.WideRedaction). */
  const redactedTodayHash = (event: Extract<TapeEvent, { kind: 'tool' | 'retrieval' }>) =>
    event.requestHash === (event.kind === 'tool' ? event.args : event.query) ? createBlob(redactor.value(tape.blob(event.requestHash))).hash : undefined;
  const sameRedactedArgs = (kind: string, name: string, hash: string) =>
    tape.events.find(
      (event): event is Extract<TapeEvent, { kind: 'tool' | 'retrieval' }> =>
        (event.kind === 'tool' || event.kind === 'retrieval') && event.kind === kind && event.name === name && redactedTodayHash(event) === hash,
    );
  const outcomeOf = (event: Extract<TapeEvent, { kind: 'tool' | 'retrieval' }>) => (event.error ? { error: event.error } : { result: tape.received(event) });
  const redactor = createRedactor({ salt: options.redactionSalt, rules: options.agent.piiRules });
  // A tape from before RecorderFlag.WideRedaction: a call that differs is compared again with both sides redacted today.
  const oldRedaction = redactedBeforeWideRules(tape.run.header.recorderFlags);
  // The first refusal is the fork's result whatever the agent made of it: an SDK retry or a
  // caught error must not turn a child that left the parent's path into a valid one.
  let refusal: ForkError | null = null;
  const notReproduced = (what: string) => {
    const error = new ForkError(
      `${what} before the fork step: the code no longer reproduces the parent up to step ${options.atSeq}; run \`npx retrial replay ${options.runId} --agent <module>\` to see where`,
    );
    refusal ??= error;
    return error;
  };
  // Up to the fork step the child replays the parent strictly; from the first live model call on it is live.
  let live = false;
  // Explain's counterfactuals change the world before the fork step on purpose (the clock now,
  // reads as they are now): there, calls before the step follow the rules of calls after it.
  const strictBeforeFork = options.clock !== 'now' && options.reads !== 'current';
  // A parent that is itself a fork sent its calls from its own fork step with its overrides.
  const parentOrigin = tape.run.header.fork;
  const parentLiveFrom = typeof parentOrigin?.overrides.liveFrom === 'string' ? ordinalOf(parentOrigin.overrides.liveFrom) : Number.POSITIVE_INFINITY;
  const asParentSent = (key: string, text: string) =>
    ordinalOf(key) >= parentLiveFrom ? applyForkOverrides(text, parentOrigin?.overrides as ForkOverrides) : text;
  const asParentSentUrl = (key: string, url: string) =>
    ordinalOf(key) >= parentLiveFrom ? applyForkOverridesToUrl(url, parentOrigin?.overrides as ForkOverrides) : url;
  const httpResponse = (event: Extract<TapeEvent, { kind: 'tool' }>) => {
    const result = event.result ? tape.blob<{ status: number; headers: Record<string, string>; body: string | null }>(event.result) : null;
    return new Response(result?.body ?? '', { status: result?.status ?? 502, headers: replayHeaders(result?.headers ?? {}) });
  };

  const serve: ServeHooks = {
    fetch({ key, url, method: sentMethod, headers, body }) {
      if (key.startsWith('model:') && ordinalOf(key) >= liveFromOrdinal) {
        live = true;
        counts.liveModelCalls++;
        return undefined;
      }
      const event = byKey.get(key);
      if (key.startsWith('model:')) {
        if (event?.kind !== 'model') throw notReproduced(`the agent made ${key}, which the parent tape does not have,`);
        if (strictBeforeFork) {
          const text = body === null ? '' : asParentSent(key, body);
          const format = detectWireFormatFromText(url, text);
          const comparable = format && comparableIfNotSameBytes(tape, event, format, text, redactor, asParentSentUrl(key, url));
          if (
            !format ||
            (comparable && createBlob(comparable).hash !== event.requestHash && !(oldRedaction && sameRedactedToday(tape, event, comparable, redactor)))
          )
            throw notReproduced(`the request at ${key} (step ${event.seq}) differs from the parent's`);
        }
        counts.servedFromParent++;
        const init = { status: event.wire.status ?? 200, headers: replayHeaders(tape.blob(event.wire.responseHeaders)) };
        if (event.wire.streamChunks) return new Response(replayStreamBody(tape.blob<StreamChunk[]>(event.wire.streamChunks)), init);
        return new Response(event.wire.responseBody ? tape.blob<string>(event.wire.responseBody) : '', init);
      }
      // A plain HTTP call through rec.fetch, matched as replay matches it: method, URL, headers, body.
      const method = sentMethod.toUpperCase();
      const safe = ['GET', 'HEAD', 'OPTIONS'].includes(method);
      // Reads as they are now (explain's worlds) ask the world even what the parent asked.
      if (safe && options.reads === 'current') {
        counts.liveReads++;
        return undefined;
      }
      const request = {
        method: sentMethod,
        url: redactor.url(url),
        headers: redactor.headers(new Headers(headers)),
        body: body === null ? null : redactor.text(body),
      };
      const hash = createBlob(request).hash;
      // Another host, port or client version than the parent's is the same request (portableHttpRequest).
      const portableHash = createBlob(portableHttpRequest(request)).hash;
      const oldTapeHash = oldRedaction ? createBlob(portableHttpRequest(replayedHttpArgsForOldTape(redactor, url, request))).hash : undefined;
      const sameRequest = (candidate: Extract<TapeEvent, { kind: 'tool' }>) =>
        candidate.requestHash === hash ||
        createBlob(portableHttpRequest(tape.blob<HttpArgs>(candidate.args))).hash === portableHash ||
        (oldTapeHash !== undefined &&
          createBlob(portableHttpRequest(httpArgsRedactedToday(redactor, tape.blob<HttpArgs>(candidate.args)))).hash === oldTapeHash);
      const callName = key.slice(0, key.lastIndexOf('#') + 1);
      const match =
        event?.kind === 'tool' && sameRequest(event)
          ? event
          : live || !strictBeforeFork
            ? tape.events.find(
                (candidate): candidate is Extract<TapeEvent, { kind: 'tool' }> =>
                  candidate.kind === 'tool' &&
                  // Tapes before RecorderFlag.PortableKeys named the host: `http:GET host#0`.
                  (candidate.key.startsWith(callName) || candidate.key.startsWith(`${callName.slice(0, -1)} `)) &&
                  sameRequest(candidate),
              )
            : undefined;
      if (match) {
        counts.servedFromParent++;
        return httpResponse(match);
      }
      if (!live && strictBeforeFork)
        throw notReproduced(`the agent sent ${key}, which the parent ${event ? 'sent with other content' : 'tape does not have'},`);
      if (safe && options.reads !== 'frozen') {
        counts.liveReads++;
        return undefined;
      }
      throw new ForkError(
        safe
          ? `${method} ${request.url} is not on the parent tape and reads are frozen`
          : `a fork never sends ${method} ${request.url}: it may change the world, and the parent tape does not have it`,
      );
    },
    tool({ key, kind, name, effect, args, argsHash, legacyArgsHash }) {
      // The recorder hashes the arguments as it records them (large ones in slices).
      const hash = argsHash ?? createBlob(args).hash;
      // `current`: read tools always ask the world as it is now, even for arguments the parent has.
      if (options.reads === 'current' && effect === 'read') {
        counts.liveReads++;
        return undefined;
      }
      // A tape recorded before 2026-11-26 may hold the arguments' older hash (see legacyArgsHash),
      // taken only when the hash does not match: it redacts and hashes the arguments in one piece.
      let legacy: string | undefined | null = null;
      const legacyHash = (): string | undefined => {
        if (legacy === null) legacy = legacyArgsHash?.();
        return legacy;
      };
      // Before the fork step the parent's own call at this key, with these arguments; after it,
      // any parent call with these arguments. Never another call's result: a read with other
      // arguments is another question.
      const parent = parentTool(key, name);
      const strict = !live && strictBeforeFork;
      const match = !strict
        ? (sameContent(kind, name, hash) ??
          (legacyHash() ? sameContent(kind, name, legacyHash() as string) : undefined) ??
          (oldRedaction ? sameRedactedArgs(kind, name, hash) : undefined))
        : parent?.kind === kind && (parent.requestHash === hash || parent.requestHash === legacyHash() || (oldRedaction && redactedTodayHash(parent) === hash))
          ? parent
          : undefined;
      if (strict && !match) throw notReproduced(`the agent called ${key} with arguments the parent did not use there`);
      if (match) {
        counts.servedFromParent++;
        if (effect === 'write') counts.stubbedWrites++;
        return outcomeOf(match);
      }
      if (effect === 'write') {
        counts.stubbedWrites++;
        return { result: { ok: true, stubbed: true, note: 'write tools never run in a fork' } };
      }
      if (options.reads === 'frozen')
        return { error: { name: 'FrozenReadError', message: `${name} with these arguments is not on the parent tape and reads are frozen` } };
      counts.liveReads++;
      return undefined;
    },
    clock: (key) => {
      if (options.clock === 'now') return undefined;
      const event = byKey.get(key);
      return event?.kind === 'clock' ? event.value : undefined;
    },
    random: (key) => {
      const event = byKey.get(key);
      return event?.kind === 'random' ? event.value : undefined;
    },
  };

  // The child catches the agent's errors into its result; the wire tells a dead or refusing
  // endpoint (the caller's to fix: exit 6) from the agent failing on its own. It is the last live
  // model request's failure, cleared when a later one is answered: an endpoint that answered the
  // SDK's retry did not fail the child, and one the agent gave up on did.
  let endpointError: string | null = null;
  const liveFetch: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    // A live read's own requests (rec.fetch inside a tool body, a model call there included, or a
    // GET the fork let through) go where they were going, untouched: only the agent's own model
    // calls go to the fork's endpoint, with its key.
    const format = maybeCurrentRun()?.mode === 'opaque' || typeof init?.body !== 'string' ? undefined : detectWireFormatFromText(url, init.body);
    if (!format) return unguardedFetch()(input, init);
    const gemini = format.id === 'gemini' ? parseGeminiPath(url) : undefined;
    const target = gemini
      ? endpointUrl(format, options.endpoint.baseUrl, gemini.model).replace(
          /:generateContent$/,
          gemini.stream ? ':streamGenerateContent?alt=sse' : ':generateContent',
        )
      : endpointUrl(format, options.endpoint.baseUrl);
    const headers = new Headers(init?.headers);
    if (gemini) headers.set('x-goog-api-key', options.endpoint.apiKey);
    headers.set('authorization', `Bearer ${options.endpoint.apiKey}`);
    headers.set('x-api-key', options.endpoint.apiKey);
    try {
      // The guarded global fetch would refuse this call: it is made inside the child run, on purpose.
      // The caller's fetch, if given, is the live model it let go: sanctioned while the fork seals the process.
      const modelFetch = options.fetch ?? unguardedFetch();
      const response = await runSanctioned(() => modelFetch(target, { ...init, headers }));
      endpointError = isEndpointFailure(response.status) ? `${displayUrl(target)} answered HTTP ${response.status}` : null;
      return response;
    } catch (error) {
      endpointError = `${displayUrl(target)} is not answering (${describeFailure(error)})`;
      throw error;
    }
  };
  const childRec = createRecorder({
    store: options.store,
    agent: options.agent.name,
    codeVersion: options.agent.codeVersion,
    redaction: { salt: options.redactionSalt, rules: options.agent.piiRules },
    baseFetch: liveFetch,
    serve,
  });
  let modelCalls = 0;
  // Overrides apply from the fork step on; counted as the recorder counts model ordinals.
  const forkFetch: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const body = typeof init?.body === 'string' ? init.body : null;
    // A model call made from inside a live tool body is the tool's own, not a step of the agent.
    if (body !== null && maybeCurrentRun()?.mode !== 'opaque' && detectWireFormatFromText(url, body) && modelCalls++ >= liveFromOrdinal) {
      // Gemini names the model in the URL: a model override changes where the call goes, not its body.
      const target = input instanceof Request ? input : applyForkOverridesToUrl(url, options.overrides);
      return childRec.fetch(target, { ...init, body: applyForkOverrides(body, options.overrides) });
    }
    return childRec.fetch(input, init);
  };
  const rec: Recorder = { ...childRec, fetch: forkFetch };
  const handle = options.agent.create({ rec, env: options.env ?? process.env, services: options.services });
  const inputEvent = tape.events.find((event) => event.kind === 'input');
  const input = inputEvent?.kind === 'input' ? tape.received(inputEvent) : null;
  const childRunId = options.childRunId ?? `${options.runId}_fork_${Date.now().toString(36)}`;
  let output: unknown = null;
  let error: string | null = null;
  try {
    output = await childRec.run(input as never, handle, {
      runId: childRunId,
      startAt: options.clock === 'now' ? Date.now() : Date.parse(tape.run.header.recordedAt),
      seed: tape.run.header.seed,
      externalIds: tape.run.header.externalIds,
      fork: {
        fromRun: options.runId,
        atSeq: options.atSeq,
        // The endpoint too: the child's model events keep the URL the agent's SDK used.
        overrides: { ...options.overrides, reads: options.reads, liveFrom: forkEvent.key, endpoint: displayUrl(options.endpoint.baseUrl) },
      },
      blockEgress: (url) => {
        throw new EgressBlockedError({ url });
      },
    });
  } catch (caught) {
    error = (caught as Error).message;
  }
  const refused = (refusal as ForkError | null)?.message ?? null;
  return {
    childRunId,
    parentRunId: options.runId,
    atSeq: options.atSeq,
    liveFrom: forkEvent.key,
    output,
    error: refused ?? error,
    endpointError,
    refusal: refused,
    counts,
  };
}
