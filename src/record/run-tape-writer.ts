import type { DecisionRecord, StoredEvent } from '../store/index.ts';
import {
  type BlobRef,
  canonicalJson,
  chainNext,
  createBlob,
  type DecisionEvent,
  type MessageList,
  type ModelEvent,
  type RunRecord,
  type TapeEvent,
} from '../tape/index.ts';

/** Collects the blobs an event needs while it is built. */
export interface BlobCollector {
  /** Canonicalizes `value`, keeps its JSON for the next flush, returns its address. */
  put(value: unknown): BlobRef;
  /**
   * Stores an ordered list of refs as a MessageList chained to the longest recent list of the
   * same `family` that it extends, so each step stores only its new messages.
   */
  putList(family: string, refs: readonly BlobRef[]): BlobRef;
  /**
   * Puts a value the agent receives (its input, a tool or retrieval result): its canonical blob,
   * and its JSON text as a string blob when the key order differs from the canonical one.
   */
  putReceived(value: unknown): { ref: BlobRef; text: BlobRef | undefined };
}

/** Recent lists per family, newest last; a tool loop only ever extends the latest one. */
const RECENT_LISTS = 8;

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** An event without its seq, which the writer assigns. */
export type EventDraft = DistributiveOmit<TapeEvent, 'seq'>;
/** Builds an event off the caller's path; may wait for a body the caller is still reading. */
export type EventBuilder = (blobs: BlobCollector) => EventDraft | Promise<EventDraft>;

/** Values at least this long are worth remembering by their JSON text (canonicalizing is the cost). */
const MEMO_FROM_CHARS = 512;
const MEMO_ENTRIES = 256;

/** What one drain of a run's buffer hands to the store. */
export interface DrainedTape {
  events: StoredEvent[];
  blobs: Map<BlobRef, string>;
  decisions: DecisionRecord[];
  headHash: string;
}

/**
 * The in-memory tail of one run being recorded. Seq numbers are handed out synchronously when an
 * event is pushed; the expensive part (canonical forms, blobs, hashes) runs later, off the
 * caller's path, in seq order so the hash chain is deterministic.
 */
export class RunTapeWriter {
  readonly runId: string;
  readonly agent: string;
  private readonly isFork: boolean;
  private nextSeq = 0;
  private headHash: string;
  private pending: Array<{ seq: number; build: EventBuilder }> = [];
  /** Served model version by model event seq, for the decision ledger's model column. */
  private readonly servedBySeq = new Map<number, string | null>();
  private readonly modelsServed = new Set<string>();
  private lastModelSeq: number | null = null;
  private readonly recentLists = new Map<string, Array<{ refs: readonly BlobRef[]; ref: BlobRef }>>();
  /**
   * Canonical JSON and hash of recent large values, keyed by their plain JSON text: a tool loop
   * sends the same system prompt and history on every step, and canonicalizing and hashing them
   * again was most of the cost of building a model event.
   */
  private readonly memo = new Map<string, { hash: BlobRef; json: string }>();

  /** Called after every push, so the owner can schedule a flush. */
  private readonly onPush: (writer: RunTapeWriter) => void;

  constructor(run: RunRecord, onPush: (writer: RunTapeWriter) => void = () => {}) {
    this.onPush = onPush;
    this.runId = run.header.runId;
    this.isFork = run.header.fork !== undefined;
    this.agent = run.header.agent;
    this.headHash = run.headHash;
  }

  get eventCount(): number {
    return this.nextSeq;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Seq of the latest model event pushed so far, the default basis of a decision. */
  get latestModelSeq(): number | null {
    return this.lastModelSeq;
  }

  /** Reserves the next seq for an event built later. Synchronous, so order is call order. */
  push(build: EventBuilder, kind?: TapeEvent['kind']): number {
    const seq = this.nextSeq++;
    if (kind === 'model') this.lastModelSeq = seq;
    this.pending.push({ seq, build });
    this.onPush(this);
    return seq;
  }

  servedModels(): string[] {
    return [...this.modelsServed];
  }

  /** The blob of `value`, and (for a non-string) its JSON.stringify text, which keys the memo. */
  private canonical(value: unknown): { blob: { hash: BlobRef; json: string }; text: string | undefined } {
    const text = typeof value === 'string' ? undefined : JSON.stringify(value);
    const plain = typeof value === 'string' ? `s${value}` : `j${text}`;
    if (plain.length < MEMO_FROM_CHARS) return { blob: createBlob(value), text };
    let blob = this.memo.get(plain);
    if (!blob) {
      blob = createBlob(value);
      if (this.memo.size >= MEMO_ENTRIES) this.memo.delete(this.memo.keys().next().value as string);
      this.memo.set(plain, blob);
    }
    return { blob, text };
  }

  /** Builds every pending event in seq order and advances the chain. */
  async drain(knownBlobs: ReadonlySet<string>): Promise<DrainedTape> {
    const blobs = new Map<BlobRef, string>();
    const keep = ({ hash, json }: { hash: BlobRef; json: string }): BlobRef => {
      if (!knownBlobs.has(hash)) blobs.set(hash, json);
      return hash;
    };
    const put = (value: unknown): BlobRef => keep(this.canonical(value).blob);
    const putReceived = (value: unknown) => {
      const { blob, text } = this.canonical(value);
      // A string's JSON text is its canonical JSON; other values need theirs kept only when their key order differs.
      return { ref: keep(blob), text: text === undefined || text === blob.json ? undefined : put(text) };
    };
    const collector: BlobCollector = { put, putList: (family, refs) => this.putList(put, family, refs), putReceived };
    const events: StoredEvent[] = [];
    const decisions: DecisionRecord[] = [];
    const batch = this.pending;
    this.pending = [];
    for (const { seq, build } of batch) {
      const built = await build(collector);
      // A call that started right before it finished, nothing between, leaves its start implied
      // (RecorderFlag.CallStartOrder): most calls, and each stored byte counts.
      const event = { ...(built.startedAfter === seq ? { ...built, startedAfter: undefined } : built), seq } as TapeEvent;
      const json = canonicalJson(event);
      this.headHash = chainNext(this.headHash, json);
      events.push({ seq, kind: event.kind, key: event.key, at: event.at, json, hash: this.headHash });
      if (event.kind === 'model') this.noteModel(event);
      // A fork's decisions are counterfactual: on its tape, never in the ledger of shipped decisions.
      if (event.kind === 'decision' && !this.isFork) decisions.push(this.toDecisionRecord(event));
    }
    return { events, blobs, decisions, headHash: this.headHash };
  }

  private putList(put: (value: unknown) => BlobRef, family: string, refs: readonly BlobRef[]): BlobRef {
    const recent = this.recentLists.get(family) ?? [];
    let base: { refs: readonly BlobRef[]; ref: BlobRef } | undefined;
    for (const candidate of recent) {
      if (candidate.refs.length > refs.length || (base && candidate.refs.length <= base.refs.length)) continue;
      if (candidate.refs.every((ref, index) => refs[index] === ref)) base = candidate;
    }
    if (base && base.refs.length === refs.length) return base.ref;
    const list: MessageList = { kind: 'message-list', prefix: base?.ref ?? null, messages: refs.slice(base?.refs.length ?? 0) };
    const ref = put(list);
    recent.push({ refs: [...refs], ref });
    if (recent.length > RECENT_LISTS) recent.shift();
    this.recentLists.set(family, recent);
    return ref;
  }

  private noteModel(event: ModelEvent): void {
    const served = event.response?.model.served ?? null;
    this.servedBySeq.set(event.seq, served);
    if (served) this.modelsServed.add(served);
  }

  private toDecisionRecord(event: DecisionEvent): DecisionRecord {
    return {
      decisionId: `${this.runId}:${event.seq}`,
      runId: this.runId,
      seq: event.seq,
      agent: this.agent,
      type: event.type,
      subject: event.subject,
      value: event.value,
      amount: event.amount,
      currency: event.currency,
      reversible: event.reversible,
      effectiveAt: Date.parse(event.effectiveAt),
      recordedAt: event.at,
      modelServed: event.basedOnSeq === null ? null : (this.servedBySeq.get(event.basedOnSeq) ?? null),
      attributes: event.attributes,
      supersedes: null,
    };
  }
}
