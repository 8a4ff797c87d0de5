import { type DecisionRecord, decisionRecordOf, type StoredEvent } from '../store/index.ts';
import {
  type BlobRef,
  canonicalJson,
  chainNext,
  createBlob,
  type MessageList,
  type ModelEvent,
  type RunRecord,
  type StoredBlob,
  type TapeEvent,
} from '../tape/index.ts';
import type { RecordingFailure } from './recording-failure.ts';
import type { PreparedBlob } from './sliced-blob.ts';

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
  /** Keeps a blob made ahead of time (a large value, canonicalized in slices); returns its address. */
  putPrepared(blob: PreparedBlob): BlobRef;
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
  /** Canonical JSON of each new blob, or (made ahead, for a large value) the stored blob itself. */
  blobs: Map<BlobRef, string | StoredBlob>;
  decisions: DecisionRecord[];
  headHash: string;
  /** Set when an event could not be built and stopped the run: `events` hold those before it, later ones were dropped. */
  failure?: { kind: RecordingFailure['kind']; reason: string };
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
  private pending: Array<{ seq: number; build: EventBuilder; kind: TapeEvent['kind'] | undefined }> = [];
  /** Approximate bytes of the values the pending events hold, as pushers estimated them. */
  private pendingValueBytes = 0;
  /** Why this run stopped recording; once set, pushes are dropped and counted. */
  private stopped: { kind: RecordingFailure['kind']; reason: string } | undefined;
  private droppedEvents = 0;
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

  /** Called after every push, so the owner can schedule a flush and keep its buffer bounded. */
  private readonly onPush: (writer: RunTapeWriter, bytes: number) => void;
  /** Called when pending events are dropped unbuilt, with how many and their approximate bytes. */
  private readonly onDropped: (events: number, bytes: number) => void;
  /** The run as it started (header, root), for marking it when its header never reached the store. */
  readonly startRecord: RunRecord;

  constructor(
    run: RunRecord,
    onPush: (writer: RunTapeWriter, bytes: number) => void = () => {},
    onDropped: (events: number, bytes: number) => void = () => {},
  ) {
    this.onPush = onPush;
    this.onDropped = onDropped;
    this.startRecord = run;
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

  /** Hash of the last event built (the root before any). */
  get chainHead(): string {
    return this.headHash;
  }

  get pendingBytes(): number {
    return this.pendingValueBytes;
  }

  /** Why the run stopped recording, or undefined while it records in full. */
  get failure(): { kind: RecordingFailure['kind']; reason: string } | undefined {
    return this.stopped;
  }

  /** Events pushed after the run stopped recording (and pending ones it dropped). */
  get dropped(): number {
    return this.droppedEvents;
  }

  /**
   * Stops recording this run: later pushes are dropped and counted. With `dropPending`, events
   * not yet built are dropped too (their chain can no longer reach the store, or memory is short);
   * otherwise they are still built and written, as the run's durable prefix. Returns false when
   * the run had already stopped (the first cause is the one kept).
   */
  stop(kind: RecordingFailure['kind'], reason: string, dropPending: boolean): boolean {
    if (dropPending && this.pending.length) {
      this.droppedEvents += this.pending.length;
      this.onDropped(this.pending.length, this.pendingValueBytes);
      this.pending = [];
      this.pendingValueBytes = 0;
    }
    if (this.stopped) return false;
    this.stopped = { kind, reason };
    return true;
  }

  /** Seq of the latest model event pushed so far, the default basis of a decision. */
  get latestModelSeq(): number | null {
    return this.lastModelSeq;
  }

  /** Reserves the next seq for an event built later. Synchronous, so order is call order. */
  push(build: EventBuilder, kind?: TapeEvent['kind'], bytes = 0): number {
    const seq = this.nextSeq++;
    if (kind === 'model') this.lastModelSeq = seq;
    if (this.stopped) {
      this.droppedEvents++;
      return seq;
    }
    this.pending.push({ seq, build, kind });
    this.pendingValueBytes += bytes;
    this.onPush(this, bytes);
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

  /**
   * Builds every pending event in seq order and advances the chain. An event that cannot be built
   * (a value canonical JSON refuses, a builder's bug) stops the run there: the events before it
   * are returned with the failure, and the rest are dropped. Never throws.
   */
  async drain(knownBlobs: ReadonlySet<string>): Promise<DrainedTape> {
    const blobs = new Map<BlobRef, string | StoredBlob>();
    const keep = ({ hash, json }: { hash: BlobRef; json: string | StoredBlob }): BlobRef => {
      if (!knownBlobs.has(hash)) blobs.set(hash, json);
      return hash;
    };
    const put = (value: unknown): BlobRef => keep(this.canonical(value).blob);
    const putReceived = (value: unknown) => {
      const { blob, text } = this.canonical(value);
      // A string's JSON text is its canonical JSON; other values need theirs kept only when their key order differs.
      return { ref: keep(blob), text: text === undefined || text === blob.json ? undefined : put(text) };
    };
    const putPrepared = (blob: PreparedBlob): BlobRef => keep({ hash: blob.hash, json: blob });
    const collector: BlobCollector = { put, putList: (family, refs) => this.putList(put, family, refs), putReceived, putPrepared };
    const events: StoredEvent[] = [];
    const decisions: DecisionRecord[] = [];
    const batch = this.pending;
    this.pending = [];
    this.pendingValueBytes = 0;
    let failure: DrainedTape['failure'];
    for (let index = 0; index < batch.length; index++) {
      const { seq, build, kind } = batch[index] as (typeof batch)[number];
      try {
        this.buildInto(await build(collector), seq, events, decisions);
      } catch (error) {
        const described = describeBuildFailure(error, seq, kind);
        // Reported only by the drain that stopped the run: a run stopped before keeps its first cause.
        if (this.stop(described.kind, described.reason, true)) failure = described;
        this.droppedEvents += batch.length - index - 1;
        break;
      }
    }
    return { events, blobs, decisions, headHash: this.headHash, ...(failure ? { failure } : {}) };
  }

  private buildInto(built: EventDraft, seq: number, events: StoredEvent[], decisions: DecisionRecord[]): void {
    // A call that started right before it finished, nothing between, leaves its start implied
    // (RecorderFlag.CallStartOrder): most calls, and each stored byte counts.
    const event = { ...(built.startedAfter === seq ? { ...built, startedAfter: undefined } : built), seq } as TapeEvent;
    const json = canonicalJson(event);
    this.headHash = chainNext(this.headHash, json);
    events.push({ seq, kind: event.kind, key: event.key, at: event.at, json, hash: this.headHash });
    if (event.kind === 'model') this.noteModel(event);
    // A fork's decisions are counterfactual: on its tape, never in the ledger of shipped decisions.
    if (event.kind === 'decision' && !this.isFork)
      decisions.push(decisionRecordOf(this, event, event.basedOnSeq === null ? null : (this.servedBySeq.get(event.basedOnSeq) ?? null)));
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
}

/** A value canonical JSON refuses (or one too deep for it) is the value's fault; anything else is ours. */
function describeBuildFailure(error: unknown, seq: number, kind: TapeEvent['kind'] | undefined): { kind: RecordingFailure['kind']; reason: string } {
  const message = error instanceof Error ? error.message : String(error);
  const isValue = error instanceof RangeError || (error instanceof TypeError && message.startsWith('canonicalJson'));
  return { kind: isValue ? 'value' : 'internal', reason: `event ${seq}${kind ? ` (${kind})` : ''} could not be built: ${message}` };
}
