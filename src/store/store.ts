import type { RunEnding, RunRecord, RunStatus, StoredBlob } from '../tape/index.ts';
import type { CampaignStore } from './campaign-store.ts';

/** One event row as stored: the canonical JSON exactly as hashed, plus indexed columns. */
export interface StoredEvent {
  seq: number;
  kind: string;
  /** Causal key. */
  key: string;
  /** Run clock ms at the call start. */
  at: number;
  /** Canonical JSON of the event; the chain hash is over these exact bytes. */
  json: string;
  hash: string;
}

/** A row of the decision ledger. Corrections supersede a decision; nothing is overwritten. */
export interface DecisionRecord {
  /** `${runId}:${seq}` for decisions recorded by agents. */
  decisionId: string;
  runId: string;
  seq: number;
  agent: string;
  type: string;
  subject: string;
  value: string;
  amount: number | null;
  currency: string | null;
  reversible: boolean;
  /** Valid time, ms since epoch. */
  effectiveAt: number;
  /** Record time: run clock when the decision event was written, ms since epoch. */
  recordedAt: number;
  /** Model version served on the call the decision was based on, or null. */
  modelServed: string | null;
  attributes: Record<string, string>;
  /** Decision id this one corrects, or null. */
  supersedes: string | null;
}

/** The process that is writing a run; used to tell in-flight runs from ones whose writer died. */
export interface RunWriter {
  pid: number;
  host: string;
}

/** Everything one flush writes, applied atomically: all of it lands or none of it. */
export interface WriteBatch {
  runsStarted: Array<{ run: RunRecord; writer: RunWriter }>;
  /** Events appended to runs, in seq order per run, with the run's new head hash. */
  appends: Array<{ runId: string; events: StoredEvent[]; headHash: string }>;
  /** Blobs are content-addressed: writing one that exists is a no-op. */
  blobs: StoredBlob[];
  decisions: DecisionRecord[];
  runsEnded: Array<{ runId: string; ending: RunEnding; sealHash: string; modelsServed: string[] }>;
}

/** How one write meets another process's write lock. */
export interface WriteOptions {
  /**
   * How long the write may wait for the lock, in ms, before it fails with SQLITE_BUSY (a
   * StoreError whose cause has that code). An embedded store's wait blocks the whole event loop,
   * so a caller that must stay responsive (the recorder) asks for a few ms and retries
   * asynchronously. Default: the store's own wait (5 s for SQLite).
   */
  lockWaitMs?: number;
}

export interface RunFilter {
  agent?: string;
  status?: RunStatus;
  /** Run clock window on `recordedAt`, ms since epoch, inclusive start, exclusive end. */
  since?: number;
  until?: number;
  decisionType?: string;
  decisionValue?: string;
  /** Matches a decision subject or any external id value. */
  subject?: string;
  modelServed?: string;
  /** Runs forked from another (`retrial fork`, `backfill --redecide run`): `include` (default), `exclude` or `only`. */
  forks?: 'include' | 'exclude' | 'only';
  limit?: number;
  offset?: number;
  /** By recordedAt; default newest first. */
  order?: 'asc' | 'desc';
}

export interface CountOptions {
  /** Stop counting at this many. */
  upTo?: number;
}

export interface RunSummary {
  runId: string;
  agent: string;
  status: RunStatus;
  /** Run clock at start, ms since epoch. */
  recordedAt: number;
  eventCount: number;
  externalIds: Record<string, string>;
  modelsServed: string[];
  decisions: Array<{ type: string; value: string }>;
  parentRunId: string | null;
}

export interface DecisionFilter {
  type?: string;
  value?: string;
  subject?: string;
  modelServed?: string;
  runId?: string;
  /** Window on effectiveAt, ms since epoch, inclusive start, exclusive end. */
  since?: number;
  until?: number;
  /** Default false: only decisions nothing supersedes. */
  includeSuperseded?: boolean;
  limit?: number;
  offset?: number;
}

export interface StoreStats {
  runs: number;
  runsByStatus: Record<string, number>;
  events: number;
  blobs: number;
  /** Sum of canonical JSON sizes of all blobs. */
  blobBytesRaw: number;
  /** Sum of canonical JSON sizes of all events. */
  eventBytesRaw: number;
  /** Bytes the backend keeps for events and blobs together, after any compression. */
  contentBytesStored: number;
  /** Size of the database on disk where the backend can tell, else null. */
  fileBytes: number | null;
  decisions: Array<{ type: string; value: string; count: number }>;
}

export interface StoreCapabilities {
  /** Whether the backend can claim rows with SELECT ... FOR UPDATE SKIP LOCKED. */
  supportsSkipLocked: boolean;
  /** Whether several processes may write at once. */
  multiProcessWriters: boolean;
}

/** A run with all it needs to be moved to another store. */
export interface RunBundle {
  run: RunRecord;
  events: StoredEvent[];
  /**
   * Every blob the run's events reference, directly or through wire bodies. On import, blobs the
   * store already holds may be left out (`retrial copy` sends a blob runs share once).
   */
  blobs: StoredBlob[];
  decisions: DecisionRecord[];
  modelsServed: string[];
}

/**
 * A run read for replay in one call: its events' texts and the blobs the backend keeps next to
 * them. Once a run has ended, SQLite packs its events with the blobs it reaches that no earlier
 * run packed, so a finished run is one row and one inflation; other blobs (shared ones such as a
 * system prompt packed by an earlier run, or those of a run still recording) are read with getBlobs.
 */
export interface StoredTape {
  run: RunRecord;
  /** The events' canonical JSON in seq order: the text at index i is event i. */
  eventTexts: string[];
  /** Blobs stored with the run, by hash; any blob may be absent (then read it with getBlobs). */
  blobs: ReadonlyMap<string, StoredBlob>;
  /** The models served the store keeps with the run (empty until it ends); verify checks them against its model events. */
  modelsServed: string[];
  /**
   * Set when the store validated every event text of the run, as an event of a kind this code
   * knows, under this EVENT_SCHEMA_REVISION when it stored them (a SQLite run pack records it).
   * A loader of the same revision may skip validating them again.
   */
  eventsValidUnder?: number;
}

/** A result computed from a run (a resample, later an explanation), stored with the run. */
export interface RunAnalysis {
  analysisId: string;
  runId: string;
  /** e.g. "resample". */
  kind: string;
  /** When it was computed, ms since epoch (wall clock). */
  createdAt: number;
  /** The result as JSON. */
  result: unknown;
}

/**
 * Where tapes, blobs and the decision ledger live. Every method is async so a networked backend
 * fits behind the same calls; implementations share one conformance suite.
 */
export interface Store {
  /** Human-readable location (file path or redacted URL). */
  readonly location: string;
  /**
   * The file an embedded store keeps its data in (absolute path), where there is one: the
   * recorder keeps the redaction salt beside it. Absent for the memory store and networked ones.
   */
  readonly file?: string;
  readonly capabilities: StoreCapabilities;
  /** Backfill campaigns, review, corrections and the audit log. */
  readonly campaigns: CampaignStore;

  write(batch: WriteBatch, options?: WriteOptions): Promise<void>;

  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Throws RunNotFoundError (with close matches) when there is no such run. */
  getRunOrThrow(runId: string): Promise<RunRecord>;
  /** Full ids of runs starting with `prefix` (at most `limit`). */
  findRunIds(prefix: string, limit?: number): Promise<string[]>;
  listRuns(filter?: RunFilter): Promise<RunSummary[]>;
  /**
   * How many runs match `filter` (its limit and offset aside). With `upTo`, counting stops there and
   * the answer is at most `upTo`: a page's "N matching runs" stays as fast as the page on a large
   * store. A backend may count exactly regardless; callers treat a result of `upTo` as "upTo or more".
   */
  countRuns(filter?: RunFilter, options?: CountOptions): Promise<number>;
  getEvents(runId: string): Promise<StoredEvent[]>;
  /** The run and its events with what is stored next to them; throws RunNotFoundError like getRunOrThrow. */
  getTape(runId: string): Promise<StoredTape>;
  /** Missing hashes are absent from the map. */
  getBlobs(hashes: readonly string[]): Promise<Map<string, StoredBlob>>;
  listDecisions(filter?: DecisionFilter): Promise<DecisionRecord[]>;
  /** All run ids in recordedAt order, for verify and export. */
  listRunIds(): Promise<string[]>;

  /**
   * Marks runs still `recording` whose writer process is gone as `incomplete`. Returns their ids.
   * `isWriterAlive` decides for each writer; the default checks the pid on this host.
   */
  markAbandonedRuns(isWriterAlive?: (writer: RunWriter) => boolean): Promise<string[]>;

  /** Reads a run with its blobs and decisions, for export. */
  getRunBundle(runId: string): Promise<RunBundle>;
  /** Writes a bundle in one transaction. Returns 'exists' and changes nothing if the run is present. */
  importRunBundle(bundle: RunBundle): Promise<'imported' | 'exists'>;

  /** Stores (or replaces, by id) a result computed from a run. */
  saveRunAnalysis(analysis: RunAnalysis): Promise<void>;
  /** A run's analyses, oldest first, optionally of one kind. */
  listRunAnalyses(runId: string, kind?: string): Promise<RunAnalysis[]>;

  stats(): Promise<StoreStats>;
  close(): Promise<void>;
}
