import type { DecisionRecord, RunWriter } from './store.ts';

/**
 * Rows of backfill campaigns. The store keeps them and enforces the invariants that need a
 * transaction (one result per item and arm, one correction per idempotency key, an unbroken audit
 * chain); src/backfill gives the JSON payloads their meaning and validates them on the way back.
 */
export interface CampaignRecord {
  campaignId: string;
  /** Wall clock, ms since epoch. */
  createdAt: number;
  /** The plan as created (selection, candidate, sample, noise floor, exclusions, estimate). */
  plan: unknown;
}

/** One selected decision of a campaign. `chunk` is the unit of work an executor claims. */
export interface CampaignItemRecord {
  campaignId: string;
  /** The decision id (`runId:seq`). */
  itemId: string;
  chunk: number;
  /** Which arms run on this item: the candidate always, the incumbent for the noise-floor sample. */
  arms: CampaignArm[];
  /** The decision's point-in-time facts, frozen at plan time. */
  item: unknown;
}

export type CampaignArm = 'candidate' | 'incumbent';

/** The outcome of one arm on one item. The first one written wins; later writes are ignored. */
export interface CampaignResultRecord {
  campaignId: string;
  itemId: string;
  arm: CampaignArm;
  /** Wall clock, ms since epoch. */
  at: number;
  result: unknown;
}

/** The action triage gave one item under the policy applied last. */
export interface TriageRecord {
  campaignId: string;
  itemId: string;
  action: string;
  /** Name of the policy rule that matched. */
  rule: string;
}

/** What a reviewer can say about a flip. */
export const REVIEW_VERDICTS = ['incumbent-right', 'candidate-right', 'both-wrong', 'unsure'] as const;

export interface ReviewVerdictRecord {
  campaignId: string;
  itemId: string;
  verdict: (typeof REVIEW_VERDICTS)[number];
  reviewer: string;
  note: string;
  at: number;
}

/** `cancelled`: planned, then no longer wanted (a reviewer disagreed, or triage changed) before it was applied. */
export type CorrectionStatus = 'pending' | 'applied' | 'failed' | 'cancelled';

/** A live right to apply one correction of one decision (see CampaignStore.claimCorrection). */
export interface CorrectionClaim {
  decisionId: string;
  idempotencyKey: string;
  at: number;
  expiresAt: number;
  /** The process holding the claim, so another apply can tell a claim whose process is gone; absent on claims stored before it was kept. */
  holder?: RunWriter;
}

/**
 * How claimCorrection may take over a live claim: when its holder is a process that is gone (a
 * killed apply), the claim passes to the new one at once instead of blocking until it lapses,
 * and `audit` (given the claim taken over) is written in the same transaction.
 */
export interface ClaimTakeover {
  isHolderAlive: (holder: RunWriter) => boolean;
  audit: (previous: CorrectionClaim) => AuditDraft;
}

/** One correction of a remediation plan, keyed by its idempotency key. */
export interface CorrectionRecord {
  idempotencyKey: string;
  campaignId: string;
  itemId: string;
  status: CorrectionStatus;
  attempts: number;
  lastError: string | null;
  appliedAt: number | null;
  correction: unknown;
}

/** An audit entry before the store gives it a place in the chain. */
export interface AuditDraft {
  at: number;
  /** Who acted: a person's name, or `system`. */
  actor: string;
  /** e.g. `campaign.created`, `triage.applied`, `review.verdict`, `correction.applied`. */
  action: string;
  campaignId: string | null;
  details: unknown;
}

/** An audit entry as stored: `hash` = sha256 of the canonical entry including `prevHash`. */
export interface AuditRecord extends AuditDraft {
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * The campaign part of a store. Every write is atomic; a write that takes an `audit` entry appends
 * it in the same transaction, so a crash never leaves a change without its audit entry.
 */
export interface CampaignStore {
  /** Creates the campaign with all its items in one transaction. Throws when the id exists. */
  create(campaign: CampaignRecord, items: readonly CampaignItemRecord[], audit?: AuditDraft): Promise<void>;
  get(campaignId: string): Promise<CampaignRecord | undefined>;
  list(): Promise<CampaignRecord[]>;
  /** Items in chunk order, optionally of some chunks only. */
  items(campaignId: string, chunks?: readonly number[]): Promise<CampaignItemRecord[]>;
  /** Writes results; a (campaign, item, arm) that already has one keeps it. Returns how many were new. */
  putResults(results: readonly CampaignResultRecord[]): Promise<number>;
  /** Results by item and arm, optionally of the items of some chunks only (what a queue worker that took a chunk reads). */
  results(campaignId: string, chunks?: readonly number[]): Promise<CampaignResultRecord[]>;
  /** Replaces the campaign's triage with these assignments. */
  replaceTriage(campaignId: string, assignments: readonly TriageRecord[], audit?: AuditDraft): Promise<void>;
  triage(campaignId: string): Promise<TriageRecord[]>;
  addVerdict(verdict: ReviewVerdictRecord, audit?: AuditDraft): Promise<void>;
  /** All verdicts, oldest first; the latest per item is the one in force. */
  verdicts(campaignId: string): Promise<ReviewVerdictRecord[]>;
  /** Adds corrections; a key that exists keeps its row. Returns how many were new; audits only when some were. */
  putCorrections(corrections: readonly CorrectionRecord[], audit?: (added: number) => AuditDraft): Promise<number>;
  updateCorrection(
    idempotencyKey: string,
    update: Pick<CorrectionRecord, 'status' | 'attempts' | 'lastError' | 'appliedAt'>,
    audit?: AuditDraft,
  ): Promise<void>;
  corrections(campaignId: string): Promise<CorrectionRecord[]>;
  /**
   * Marks a correction applied and writes its superseding decision into the ledger, in one
   * transaction: the original decision row is never touched. Refuses (StoreError) when another
   * correction already supersedes the same decision. The audit entry is required: the store adds
   * the superseding row to its details (`ledgerRow`), which is how the audit chain vouches for it.
   */
  recordApplied(idempotencyKey: string, appliedAt: number, attempts: number, superseding: DecisionRecord, audit: AuditDraft): Promise<void>;
  /**
   * Takes the right to hand a correction of `decisionId` to a handler, so two applies running at
   * once (two terminals, two campaigns over the same window) cannot both pay a refund. `corrected`
   * when a correction of the decision is already in the ledger; `claimed-elsewhere` while another
   * claim on the decision is live. A claim lapses at `expiresAt`, so a crashed apply blocks no
   * one for ever; recordApplied and releaseCorrectionClaim end it. With `takeover`, a live claim
   * whose holder is gone is taken over (`taken-over`).
   */
  claimCorrection(claim: CorrectionClaim, takeover?: ClaimTakeover): Promise<'claimed' | 'taken-over' | 'corrected' | 'claimed-elsewhere'>;
  /** Ends a claim whose handler failed, so the next apply may take it at once. */
  releaseCorrectionClaim(decisionId: string, idempotencyKey: string): Promise<void>;
  /** Appends to the hash-chained audit log (seq and prevHash taken inside the transaction). */
  appendAudit(entry: AuditDraft): Promise<AuditRecord>;
  /**
   * Appends entries of another store's audit log sealed as they are (`retrial copy`), with the
   * correction rows they vouch for, in one transaction. An entry this log already holds (same seq,
   * same hash) is skipped; every other entry must hash to its `hash` and continue this log's chain
   * (seq one past its last, prevHash its last hash). A row whose decision id the ledger holds is left
   * as it is. Anything else throws StoreError and writes nothing: this log holds another history.
   * Returns how many entries were added.
   */
  importAudit(entries: readonly AuditRecord[], corrections: readonly DecisionRecord[]): Promise<number>;
  audit(filter?: { campaignId?: string }): Promise<AuditRecord[]>;
}
