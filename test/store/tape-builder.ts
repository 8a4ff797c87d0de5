import type { DecisionRecord, RunWriter, StoredEvent, WriteBatch } from '../../src/store/index.ts';
import {
  CURRENT_RECORDER_FLAGS,
  canonicalJson,
  chainNext,
  chainRoot,
  createBlob,
  encodeBlob,
  parseEvent,
  type RunEnding,
  type RunHeader,
  type RunRecord,
  type StoredBlob,
  sealRun,
  TAPE_FORMAT_VERSION,
  wireBodySchema,
} from '../../src/tape/index.ts';

export interface DecisionSpec {
  type: string;
  subject: string;
  value: string;
  amount?: number | null;
  /** ms since epoch; defaults to the run's start. */
  effectiveAt?: number;
  supersedes?: string | null;
}

export interface RunSpec {
  runId: string;
  agent?: string;
  /** ms since epoch. */
  recordedAt?: number;
  externalIds?: Record<string, string>;
  modelServed?: string;
  decisions?: DecisionSpec[];
  /** `null` leaves the run recording. */
  ending?: RunEnding['status'] | null;
  forkOf?: string;
  /** Text of the system prompt; long enough by default to be stored deflated. */
  systemPrompt?: string;
  /**
   * Fields laid over the first event of `kind` after the builder's own schema check: a tape whose
   * bytes hash along the chain but whose event the schema refuses.
   */
  unvalidatedPatch?: { kind: string; fields: Record<string, unknown> };
}

/** A run with real hashes: root from the header, each event chained, sealed when it ended. */
export interface BuiltRun {
  runId: string;
  started: RunRecord;
  /** The record as the store should hold it once everything is written. */
  final: RunRecord;
  events: StoredEvent[];
  blobs: StoredBlob[];
  /** Blobs only a wire body references (its lifted messages and system prompt). */
  wireOnlyBlobHashes: string[];
  decisions: DecisionRecord[];
  modelsServed: string[];
  ending: RunEnding | null;
}

export const DEFAULT_RECORDED_AT = Date.UTC(2025, 0, 15, 9, 0, 0);

/** Builds a run of input, config, model, tool, clock, decision and note events. */
export function buildRun(spec: RunSpec): BuiltRun {
  const recordedAt = spec.recordedAt ?? DEFAULT_RECORDED_AT;
  const modelServed = spec.modelServed ?? 'gpt-test-2025-01-01';
  const header: RunHeader = {
    formatVersion: TAPE_FORMAT_VERSION,
    runId: spec.runId,
    agent: spec.agent ?? 'support-agent',
    codeVersion: 'test-1',
    recordedAt: new Date(recordedAt).toISOString(),
    wallClockAt: new Date(recordedAt).toISOString(),
    timeZone: 'UTC',
    seed: 'c0ffee',
    recorderFlags: [...CURRENT_RECORDER_FLAGS],
    externalIds: spec.externalIds ?? {},
    recorder: 'retrial-test',
    ...(spec.forkOf ? { fork: { fromRun: spec.forkOf, atSeq: 1, overrides: { model: 'other' } } } : {}),
  };
  const blobs = new Map<string, StoredBlob>();
  const put = (value: unknown): string => {
    const { hash, json } = createBlob(value);
    blobs.set(hash, encodeBlob(hash, json));
    return hash;
  };
  const systemPrompt = spec.systemPrompt ?? `You are a careful support agent. ${'Follow the refund policy exactly. '.repeat(20)}`;
  const wireMessages = [put({ role: 'user', content: `Refund order for ${spec.runId}` })];
  const wireSystem = put(systemPrompt);
  const wireBody = wireBodySchema().parse({
    kind: 'json-template',
    template: put('{"model":"gpt-test","system":"@@retrial:system@@","messages":"@@retrial:messages@@"}'),
    messages: put({ kind: 'message-list', prefix: null, messages: wireMessages }),
    system: wireSystem,
  });
  const drafts: Array<Record<string, unknown>> = [
    { kind: 'input', key: 'input:run#0', durationMs: 0, value: put({ message: `help with ${spec.runId}` }) },
    { kind: 'config', key: 'config:run#0', durationMs: 0, promptVersion: 'v7', flags: { strict: true }, settings: put({ temperature: 0 }) },
    {
      kind: 'model',
      key: 'model:chat#0',
      durationMs: 120,
      provider: 'openai-chat',
      request: {
        model: 'gpt-test',
        messages: put({
          kind: 'message-list',
          prefix: null,
          messages: [
            put({ role: 'system', content: [{ type: 'text', text: systemPrompt }] }),
            put({ role: 'user', content: [{ type: 'text', text: 'refund?' }] }),
          ],
        }),
        tools: put([{ name: 'lookup_order', inputSchema: { type: 'object' } }]),
        toolChoice: 'auto',
        responseFormat: null,
        sampling: put({ temperature: { value: 0, source: 'sent' } }),
        stream: false,
      },
      response: {
        id: 'resp-1',
        model: { requested: 'gpt-test', served: modelServed },
        systemFingerprint: 'fp_1',
        content: [{ type: 'text', text: 'approve' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12, raw: {} },
      },
      wire: {
        method: 'POST',
        url: 'https://api.test/v1/chat/completions',
        requestHeaders: put({}),
        requestBody: put(wireBody),
        status: 200,
        responseHeaders: put({ 'content-type': 'application/json' }),
        responseBody: put('{"ok":true}'),
        streamChunks: null,
      },
      requestHash: 'a'.repeat(64),
    },
    {
      kind: 'tool',
      key: 'tool:lookup_order#0',
      durationMs: 5,
      name: 'lookup_order',
      effect: 'read',
      args: put({ order: 1 }),
      requestHash: 'b'.repeat(64),
      result: put({ total: 42 }),
    },
    { kind: 'clock', key: 'clock:Date.now#0', durationMs: 0, source: 'Date.now', value: recordedAt + 10 },
  ];
  for (const [index, decision] of (spec.decisions ?? []).entries()) {
    drafts.push({
      kind: 'decision',
      key: `decision:${decision.type}#${index}`,
      durationMs: 0,
      type: decision.type,
      subject: decision.subject,
      value: decision.value,
      amount: decision.amount ?? null,
      currency: decision.amount == null ? null : 'USD',
      reversible: true,
      effectiveAt: new Date(decision.effectiveAt ?? recordedAt).toISOString(),
      basedOnSeq: 2,
      attributes: { plan: 'pro' },
    });
  }
  drafts.push({ kind: 'note', key: 'note:done#0', durationMs: 0, text: 'done ✓ ünïcode' });

  const rootHash = chainRoot(header);
  let headHash = rootHash;
  const patchSeq = spec.unvalidatedPatch ? drafts.findIndex((draft) => draft.kind === spec.unvalidatedPatch?.kind) : -1;
  const events: StoredEvent[] = drafts.map((draft, seq) => {
    const event = { ...draft, seq, at: recordedAt + seq };
    const parsed = parseEvent(event);
    if (!parsed.ok || parsed.event === undefined)
      throw new Error(`test builder made an invalid ${String(draft.kind)} event: ${parsed.ok ? 'unknown kind' : parsed.message}`);
    const json = canonicalJson(seq === patchSeq ? { ...event, ...spec.unvalidatedPatch?.fields } : event);
    headHash = chainNext(headHash, json);
    return { seq, kind: String(draft.kind), key: String(draft.key), at: event.at, json, hash: headHash };
  });
  const decisions: DecisionRecord[] = events
    .filter((event) => event.kind === 'decision')
    .map((event, index) => {
      const decision = (spec.decisions ?? [])[index] as DecisionSpec;
      return {
        decisionId: `${spec.runId}:${event.seq}`,
        runId: spec.runId,
        seq: event.seq,
        agent: header.agent,
        type: decision.type,
        subject: decision.subject,
        value: decision.value,
        amount: decision.amount ?? null,
        currency: decision.amount == null ? null : 'USD',
        reversible: true,
        effectiveAt: decision.effectiveAt ?? recordedAt,
        recordedAt: event.at,
        modelServed,
        attributes: { plan: 'pro' },
        supersedes: decision.supersedes ?? null,
      };
    });
  const endingStatus = spec.ending === undefined ? 'complete' : spec.ending;
  const ending: RunEnding | null = endingStatus === null ? null : { status: endingStatus, output: put({ reply: 'refund approved' }), error: null };
  const started: RunRecord = { header, status: 'recording', rootHash, headHash: rootHash, sealHash: null, eventCount: 0, ending: null };
  const final: RunRecord = {
    ...started,
    status: ending?.status ?? 'recording',
    headHash,
    sealHash: ending ? sealRun(headHash, ending) : null,
    eventCount: events.length,
    ending,
  };
  return {
    runId: spec.runId,
    started,
    final,
    events,
    blobs: [...blobs.values()],
    wireOnlyBlobHashes: [...wireMessages, wireSystem],
    decisions,
    modelsServed: [modelServed],
    ending,
  };
}

export const TEST_WRITER: RunWriter = { pid: process.pid, host: 'test-host' };

/** The batches a recorder would flush: start plus the first `splitAt` events, then the rest and the ending. */
export function batchesOf(run: BuiltRun, options: { writer?: RunWriter; splitAt?: number } = {}): [WriteBatch, WriteBatch] {
  const splitAt = options.splitAt ?? 3;
  const head = run.events.slice(0, splitAt);
  const tail = run.events.slice(splitAt);
  const first: WriteBatch = {
    runsStarted: [{ run: run.started, writer: options.writer ?? TEST_WRITER }],
    appends: head.length ? [{ runId: run.runId, events: head, headHash: (head.at(-1) as StoredEvent).hash }] : [],
    blobs: run.blobs,
    decisions: [],
    runsEnded: [],
  };
  const second: WriteBatch = {
    runsStarted: [],
    appends: tail.length ? [{ runId: run.runId, events: tail, headHash: run.final.headHash }] : [],
    blobs: [],
    decisions: run.decisions,
    runsEnded: run.ending ? [{ runId: run.runId, ending: run.ending, sealHash: run.final.sealHash as string, modelsServed: run.modelsServed }] : [],
  };
  return [first, second];
}

/** One batch holding the whole run. */
export function singleBatchOf(run: BuiltRun, writer: RunWriter = TEST_WRITER): WriteBatch {
  const [first, second] = batchesOf(run, { writer, splitAt: run.events.length });
  return { ...first, decisions: second.decisions, runsEnded: second.runsEnded };
}
