import type { LoadedTape } from '../inspect/index.ts';
import { RecorderFlag, type TapeEvent } from '../tape/index.ts';
import { type Divergence, type DivergenceCode, type FieldDifference, ReplayDivergenceError } from './divergence.ts';
import { redactedBeforeWideRules } from './old-redaction.ts';
import { keyedEvents, siteFunction } from './portable-keys.ts';

const CALL_KINDS = new Set<TapeEvent['kind']>(['model', 'tool', 'retrieval']);
/**
 * What the order of calls is checked against. Clock and random reads are left out: the SDKs read
 * the clock as responses arrive, so their place among concurrent calls is timing, not code.
 */
const ORDERED_KINDS = new Set<TapeEvent['kind']>(['input', 'config', 'model', 'tool', 'retrieval', 'decision']);

type DivergenceDraft = {
  code: DivergenceCode;
  seq: number | null;
  causalKey: string;
  message: string;
  differences?: FieldDifference[];
  site?: string | null;
  recordedSite?: string | null;
};

/** What a call made through a replay's scope after the replay returned its result gets. */
function replayEndedError(runId: string): TypeError {
  return new TypeError(
    `the replay of ${runId} has ended: the agent made a call after its handler returned (a timer or promise it left running), and a replay serves calls only while it runs`,
  );
}

/**
 * The bookkeeping of one replay: recorded events by causal key, which of them the replay has
 * consumed (each at most once), and the divergences found. In strict mode the first divergence is
 * thrown into the agent's code, so it stops where the difference is.
 */
export class ReplayLedger {
  /** By the key a replay takes today (old tapes' keys brought to the portable form, see keyedEvents). */
  private readonly byKey: Map<string, TapeEvent>;
  /** Each event's key in that form, by seq, where it differs from the recorded one. */
  private readonly keyOf = new Map<number, string>();
  private readonly consumed = new Set<number>();
  /** Recorded events a later call was made before, by seq: the later call and where it was made. */
  private readonly cameEarly = new Map<number, { event: TapeEvent; site: string | null }>();
  readonly divergences: Divergence[] = [];
  served = 0;
  #tape: LoadedTape | undefined;
  readonly #runId: string;
  /** Whether the tape's keys are portable (RecorderFlag.PortableKeys); older ones are brought to that form. */
  readonly portableKeys: boolean;
  /** Whether the tape was redacted by today's rules (RecorderFlag.WideRedaction); see old-redaction.ts. */
  readonly wideRedaction: boolean;
  /** Whether the tape records where calls started (RecorderFlag.CallStartOrder); older ones do not. */
  readonly #tapeHasStarts: boolean;

  constructor(
    tape: LoadedTape,
    readonly strict: boolean,
  ) {
    this.#tape = tape;
    this.#runId = tape.run.header.runId;
    this.#tapeHasStarts = tape.run.header.recorderFlags.includes(RecorderFlag.CallStartOrder);
    this.portableKeys = tape.run.header.recorderFlags.includes(RecorderFlag.PortableKeys);
    this.wideRedaction = !redactedBeforeWideRules(tape.run.header.recorderFlags);
    this.byKey = keyedEvents(tape.events, tape.run.header.recorderFlags);
    // Needed only where keys were brought to today's form; elsewhere each is the recorded key.
    if (!this.portableKeys) for (const [key, event] of this.byKey) this.keyOf.set(event.seq, key);
  }

  /** Whether the replay has returned its result (see release). */
  get released(): boolean {
    return this.#tape === undefined;
  }

  /** The tape being replayed; a call that reaches it after the replay ended is refused. */
  get tape(): LoadedTape {
    if (this.#tape === undefined) throw replayEndedError(this.#runId);
    return this.#tape;
  }

  /**
   * Lets go of the tape once the replay's result is taken. Something in the process may keep the
   * run's scope alive a while (a promise or timer the agent left behind, Node's own lazily made
   * promises), and through it the ledger; without this the whole tape went with it, and every
   * replay's tape outlived the young generation (about 30 KB a replay copied by each scavenge).
   */
  release(): void {
    this.#tape = undefined;
    this.byKey.clear();
    this.keyOf.clear();
    this.consumed.clear();
    this.cameEarly.clear();
  }

  /** Records a divergence; in strict mode throws it. */
  diverge(divergence: DivergenceDraft): void {
    this.raise(this.note(divergence));
  }

  /**
   * Records a divergence without throwing, so its place among the divergences is taken now, while
   * its details may still be filled in (a request's field diff needs blobs read first).
   */
  note(divergence: DivergenceDraft): Divergence {
    const full: Divergence = { differences: [], site: null, recordedSite: null, ...divergence } as Divergence;
    // After release the result is returned: nothing found then belongs in it.
    if (this.#tape !== undefined) this.divergences.push(full);
    return full;
  }

  /** Takes back a divergence recorded with `note` that turned out not to be one. */
  withdraw(divergence: Divergence): void {
    const index = this.divergences.indexOf(divergence);
    if (index >= 0) this.divergences.splice(index, 1);
  }

  /** In strict mode, throws a divergence recorded with `note`. */
  raise(divergence: Divergence): void {
    if (this.strict) throw new ReplayDivergenceError({ divergences: [divergence] });
  }

  /**
   * The recorded event for `key`, consumed. When the tape has none, reports NAME_MISMATCH (the
   * tape made a different call of this kind at this point) or MISSING_CALL, and returns undefined.
   * `site` is evaluated only when there is a divergence to report: capturing a stack costs.
   * `readSite`, for a clock read, names the read's own site (in the message).
   */
  take(key: string, kind: TapeEvent['kind'], site: () => string | null, readSite?: () => string): TapeEvent | undefined {
    if (this.#tape === undefined) {
      // The replay has returned its result: nothing to serve and no result to report to. A clock
      // or random read then (a timer the agent left) gets what an unrecorded read gets in a
      // lenient replay, so it cannot throw inside that timer and end the process; a call is refused.
      if (kind === 'clock' || kind === 'random') return undefined;
      throw replayEndedError(this.#runId);
    }
    const { tape } = this;
    const event = this.byKey.get(key);
    if (event && event.kind === kind && !this.consumed.has(event.seq)) {
      this.consumed.add(event.seq);
      this.served++;
      if (this.cameEarly.size) this.reportOvertaken(event);
      // Only tapes that record where calls started are checked for order. Config and decisions
      // happen at once, so their seq is where they started; so does a call with no start of its own.
      if (this.#tapeHasStarts && ORDERED_KINDS.has(event.kind) && event.kind !== 'input')
        this.checkTrigger(event, CALL_KINDS.has(event.kind) ? (event.startedAfter ?? event.seq) : event.seq, site);
      return event;
    }
    if (kind === 'clock' || kind === 'random') {
      this.diverge({ code: 'UNSANCTIONED_NONDETERMINISM', seq: null, causalKey: key, site: site(), message: this.unrecordedRead(key, kind, readSite) });
      return undefined;
    }
    // NAME_MISMATCH when the tape, at this point, has the same kind of call with the same ordinal
    // under another name, and no call of another kind comes before it; otherwise the code made a
    // call the tape never had.
    const ordinalOf = (causalKey: string) => causalKey.slice(causalKey.lastIndexOf('#'));
    const parentOf = (causalKey: string) => causalKey.slice(0, causalKey.lastIndexOf('/') + 1);
    let other: TapeEvent | undefined;
    for (const candidate of tape.events) {
      if (!CALL_KINDS.has(candidate.kind) || this.consumed.has(candidate.seq)) continue;
      if (candidate.kind !== kind) break;
      const candidateKey = this.keyOf.get(candidate.seq) ?? candidate.key;
      if (ordinalOf(candidateKey) === ordinalOf(key) && parentOf(candidateKey) === parentOf(key)) {
        other = candidate;
        break;
      }
    }
    if (other) {
      if (!this.strict) this.consumed.add(other.seq);
      this.diverge({
        code: 'NAME_MISMATCH',
        seq: other.seq,
        causalKey: key,
        site: site(),
        recordedSite: other.site ?? null,
        message: `the replay called ${key} where the tape has ${other.key}`,
        differences: [{ path: 'call', expected: other.key, received: key }],
      });
    } else {
      this.diverge({ code: 'MISSING_CALL', seq: null, causalKey: key, site: site(), message: `the replay called ${key}, which the tape does not have` });
    }
    return undefined;
  }

  /**
   * Says which read the tape lacks, by its portable site. When the tape has an unread read of the
   * same function at another site (an old tape's file path, another package), says that only the
   * path differs: the code is the same, but it was found elsewhere.
   */
  private unrecordedRead(key: string, kind: 'clock' | 'random', readSite: (() => string) | undefined): string {
    const base = key.slice(0, key.lastIndexOf('#'));
    if (kind === 'clock') return `the code read ${base}${readSite ? ` at ${readSite()}` : ''} where the tape recorded no such read`;
    const site = base.slice(base.indexOf('random:') + 'random:'.length);
    const said = `the code read ${base} where the tape recorded no such read`;
    const same = siteFunction(site);
    const elsewhere = this.tape.events.find(
      (event) =>
        event.kind === 'random' &&
        event.source !== 'rec.random' &&
        !this.consumed.has(event.seq) &&
        event.stream !== site &&
        siteFunction(event.stream) === same,
    );
    if (elsewhere?.kind !== 'random') return said;
    return `${said}; the tape has a read of the same function at ${elsewhere.stream} (${this.keyOf.get(elsewhere.seq) ?? elsewhere.key}): the recorded site differs only by path`;
  }

  /**
   * A call, config or decision comes after what set it off in the recording: the last call,
   * config or decision that had finished when it started (its trigger). The code runs on from a
   * finished call in microtasks, before any other answer can arrive, so that one is what it
   * waited for. Its own trigger was checked when it was taken, so the chain back is covered.
   * Calls finished earlier in other branches are not required: a replay answers at once, so
   * branches that made several calls each may interleave differently than they did live.
   */
  private checkTrigger(event: TapeEvent, startedAfter: number, site: () => string | null): void {
    const { events } = this.tape;
    for (let index = events.length - 1; index >= 0; index--) {
      const trigger = events[index] as TapeEvent;
      if (trigger.seq >= startedAfter || !ORDERED_KINDS.has(trigger.kind)) continue;
      // Not yet a divergence: the trigger may come later (the order changed) or never (the tape
      // has a call the code no longer makes, EXTRA_RECORDED at the end).
      if (!this.consumed.has(trigger.seq) && !this.cameEarly.has(trigger.seq)) this.cameEarly.set(trigger.seq, { event, site: site() });
      return;
    }
  }

  /** `event`, just taken, had been overtaken by a call that the recording made after it. */
  private reportOvertaken(event: TapeEvent): void {
    const early = this.cameEarly.get(event.seq);
    if (!early) return;
    this.cameEarly.delete(event.seq);
    this.diverge({
      code: 'ORDER_MISMATCH',
      seq: early.event.seq,
      causalKey: early.event.key,
      site: early.site,
      recordedSite: early.event.site ?? null,
      message: `the replay made ${early.event.key} before ${event.key}; the recording had finished ${event.key} before it started ${early.event.key}`,
      differences: [{ path: 'order', expected: `${event.key}, then ${early.event.key}`, received: `${early.event.key}, then ${event.key}` }],
    });
  }

  /** An unconsumed recorded event of this kind whose request hash is `hash` (a swapped call). */
  findSwapped(kind: TapeEvent['kind'], hash: string): TapeEvent | undefined {
    return this.tape.events.find((event) => event.kind === kind && !this.consumed.has(event.seq) && 'requestHash' in event && event.requestHash === hash);
  }

  /**
   * Recorded events the replay never asked for, calls and other events first (in tape order), then
   * clock and random reads. A call the agent no longer makes takes its SDK's bookkeeping reads with
   * it (a request id drawn, a timestamp taken), and those often sit earlier on the tape than the
   * call, which is written when it ends: reported first, a read would hide the change that caused
   * it. Notes never take part in replay.
   */
  unconsumed(): TapeEvent[] {
    const left = this.tape.events.filter((event) => !this.consumed.has(event.seq) && event.kind !== 'note' && event.kind !== 'error');
    const isRead = (event: TapeEvent) => event.kind === 'clock' || event.kind === 'random';
    return [...left.filter((event) => !isRead(event)), ...left.filter(isRead)];
  }

  consume(seq: number): void {
    this.consumed.add(seq);
  }
}
