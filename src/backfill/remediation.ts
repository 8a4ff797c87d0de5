import { hostname } from 'node:os';
import { type CorrectionRecord, type DecisionRecord, isWriterAliveOnThisHost, type RunWriter, type Store } from '../store/index.ts';
import { RetrialError, sha256Hex } from '../tape/index.ts';
import { type Correction, correctionSchema, parseStored } from './campaign-types.ts';
import { compareCampaign, latestVerdicts } from './compare-campaign.ts';
import { type LoadedCampaign, loadCampaign } from './load-campaign.ts';
import { correctionLedgerProblem } from './vouch-correction.ts';

export type { Correction } from './campaign-types.ts';

/** The user's code that makes one correction; throw to report a failure (it will be retried). */
export type CorrectionHandler = (correction: Correction) => Promise<unknown> | unknown;

export interface RemediationPlanEntry extends Correction {
  status: CorrectionRecord['status'];
  attempts: number;
  lastError: string | null;
}

/** The campaign and the ledger of its decision type, read once per plan or apply. */
interface RemediationContext {
  store: Store;
  campaign: LoadedCampaign;
  /** Every decision of the type, superseded ones included, by id. */
  decisions: Map<string, DecisionRecord>;
  /** Ids of decisions some correction already superseded. */
  corrected: Set<string>;
}

async function remediationContext(store: Store, campaignId: string): Promise<RemediationContext> {
  const campaign = await loadCampaign(store, campaignId);
  const ledger = await store.listDecisions({ includeSuperseded: true, type: campaign.plan.decisionType });
  return {
    store,
    campaign,
    decisions: new Map(ledger.map((decision) => [decision.decisionId, decision])),
    corrected: new Set(ledger.flatMap((decision) => (decision.supersedes === null ? [] : [decision.supersedes]))),
  };
}

/**
 * Which flips get corrected now: a reviewer said the candidate is right, or triage said `correct`
 * and no reviewer said otherwise; never a decision another correction already superseded (another
 * campaign may have got there first). Keyed by stable idempotency keys.
 */
async function wantedCorrections({ store, campaign, corrected }: RemediationContext): Promise<CorrectionRecord[]> {
  const { campaignId } = campaign;
  const triage = new Map((await store.campaigns.triage(campaignId)).map((record) => [record.itemId, record]));
  const verdicts = latestVerdicts(await store.campaigns.verdicts(campaignId));
  const wanted: CorrectionRecord[] = [];
  for (const flip of compareCampaign(campaign).flips) {
    if (corrected.has(flip.itemId)) continue;
    const verdict = verdicts.get(flip.itemId);
    const assigned = triage.get(flip.itemId);
    const reason =
      verdict?.verdict === 'candidate-right'
        ? `review: candidate right (${verdict.reviewer})`
        : verdict === undefined && assigned?.action === 'correct'
          ? `triage: rule ${assigned.rule}`
          : null;
    if (reason === null) continue;
    const idempotencyKey = `rc_${sha256Hex(`${campaignId}\n${flip.itemId}\n${flip.to}`).slice(0, 32)}`;
    const correction: Correction = {
      idempotencyKey,
      campaignId,
      decisionId: flip.itemId,
      runId: flip.item.runId,
      type: campaign.plan.decisionType,
      subject: flip.item.subject,
      from: flip.from,
      to: flip.to,
      amount: flip.item.amount,
      currency: flip.item.currency,
      reason,
      candidateModel: campaign.plan.candidate.model,
    };
    wanted.push({ idempotencyKey, campaignId, itemId: flip.itemId, status: 'pending', attempts: 0, lastError: null, appliedAt: null, correction });
  }
  return wanted;
}

/**
 * Brings the stored plan in line with what is wanted now: new corrections are added, and planned
 * ones that are no longer wanted (a reviewer disagreed, triage changed) are cancelled before they
 * can be applied. Applied corrections are history and stay as they are.
 */
async function reconcileCorrections(
  context: RemediationContext,
  actor: string,
  now: number,
  { addNew }: { addNew: boolean },
): Promise<{ records: CorrectionRecord[]; cancelled: number }> {
  const { store } = context;
  const { campaignId } = context.campaign;
  const wanted = await wantedCorrections(context);
  if (addNew)
    await store.campaigns.putCorrections(wanted, (added) => ({
      at: now,
      actor,
      action: 'remediation.planned',
      campaignId,
      details: { corrections: wanted.length, new: added },
    }));
  const wantedKeys = new Set(wanted.map((record) => record.idempotencyKey));
  let cancelled = 0;
  for (const record of await store.campaigns.corrections(campaignId)) {
    if (wantedKeys.has(record.idempotencyKey) || record.status === 'applied' || record.status === 'cancelled') continue;
    const reason = context.corrected.has(record.itemId) ? 'already corrected by another correction' : 'no longer wanted by review or triage';
    await cancelCorrection(store, record, reason, { at: now, actor });
    cancelled++;
  }
  return { records: await store.campaigns.corrections(campaignId), cancelled };
}

/** Marks a correction cancelled before its handler ran, and audits why, in one write. */
function cancelCorrection(store: Store, record: CorrectionRecord, reason: string, { at, actor }: { at: number; actor: string }): Promise<void> {
  return store.campaigns.updateCorrection(
    record.idempotencyKey,
    { status: 'cancelled', attempts: record.attempts, lastError: reason, appliedAt: null },
    {
      at,
      actor,
      action: 'correction.cancelled',
      campaignId: record.campaignId,
      details: { idempotencyKey: record.idempotencyKey, decisionId: record.itemId, reason },
    },
  );
}

/** The remediation plan, stored so that keys and statuses survive; see reconcileCorrections. */
export async function planRemediation(options: { store: Store; campaignId: string; actor: string; now: number }): Promise<RemediationPlanEntry[]> {
  const context = await remediationContext(options.store, options.campaignId);
  const { records } = await reconcileCorrections(context, options.actor, options.now, { addNew: true });
  return records.map((record) => ({
    ...parseStored(correctionSchema(), record.correction, `Correction ${record.idempotencyKey}`),
    status: record.status,
    attempts: record.attempts,
    lastError: record.lastError,
  }));
}

const CSV_COLUMNS = [
  'idempotencyKey',
  'decisionId',
  'subject',
  'type',
  'from',
  'to',
  'amount',
  'currency',
  'reason',
  'status',
  'attempts',
  'lastError',
] as const;

/** RFC 4180: quote fields holding commas, quotes or newlines. */
export function remediationCsv(entries: readonly RemediationPlanEntry[]): string {
  const field = (value: unknown) => {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return `${[CSV_COLUMNS.join(','), ...entries.map((entry) => CSV_COLUMNS.map((column) => field(entry[column])).join(','))].join('\n')}\n`;
}

export function remediationJsonl(entries: readonly RemediationPlanEntry[]): string {
  return entries.map((entry) => JSON.stringify(entry)).join('\n') + (entries.length ? '\n' : '');
}

export interface RemediationOutcome {
  applied: number;
  failed: number;
  alreadyApplied: number;
  /** Planned, then cancelled before the handler was called: a reviewer or triage turned it down, or another campaign's correction got there first. */
  cancelled: number;
  /** Left alone because another apply that is still running holds the claim on the decision; rerun later. */
  claimedElsewhere: number;
  /**
   * Not handed to the handler because the run's hash chain does not vouch for the decision
   * (`ledger-mismatch`: a ledger row or campaign item changed, or the chain is broken). Marked
   * failed with the reason, so an apply after the store is repaired tries again.
   */
  excluded: Array<{ idempotencyKey: string; decisionId: string; reason: string }>;
  /** `timedOut`: the handler did not settle within the timeout (it may still finish later). */
  failures: Array<{ idempotencyKey: string; error: string; timedOut?: true }>;
  /** Claims held by a process that is gone (a killed apply), taken over and applied by this one; absent when none. */
  takenOver?: Array<{ idempotencyKey: string; from: RunWriter }>;
}

/** How long one handler call may take by default before it counts as failed and is left for the next apply to retry. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;

/** A handler call that did not settle in time. It may still finish: a retry passes the same idempotency key. */
class HandlerTimeoutError extends RetrialError {
  constructor(timeoutMs: number) {
    super({
      code: 'HANDLER_TIMEOUT',
      message: `timed out: the handler did not settle within ${formatSeconds(timeoutMs)}; it may still complete, so the retry passes the same idempotency key (raise --handler-timeout if it is just slow)`,
    });
    this.name = 'HandlerTimeoutError';
  }
}

const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

/** Calls the handler, failing with HandlerTimeoutError if it neither returns nor throws within `timeoutMs`. */
async function callHandler(handler: CorrectionHandler, correction: Correction, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandlerTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    await Promise.race([(async () => handler(correction))(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long a claim on a correction lasts at least. A handler call takes seconds; a claim left by
 * an apply on another host that crashed mid-call lets another apply retry after this (the
 * idempotency key is the same). On this host a claim whose process is gone is taken over at once.
 */
const CLAIM_LEASE_MS = 10 * 60 * 1000;

/**
 * Calls the handler once per correction not yet applied. Success marks it applied and writes the
 * superseding decision next to the original in one transaction; failure is recorded and retried
 * on the next apply. A correction marked applied is never handed to the handler again.
 */
export async function applyRemediation(options: {
  store: Store;
  campaignId: string;
  handler: CorrectionHandler;
  actor: string;
  now: () => number;
  /** How long one handler call may take before it is marked failed (timed out) and left for a retry; default 60 s. */
  handlerTimeoutMs?: number;
  /** The process applying, recorded on each claim; default this process on this host. */
  holder?: RunWriter;
  /** Whether the process holding a claim is still there; default: on another host yes, on this host if its pid is alive. */
  isHolderAlive?: (holder: RunWriter) => boolean;
}): Promise<RemediationOutcome> {
  const { store, campaignId } = options;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  if (!(handlerTimeoutMs > 0)) throw new RetrialError({ code: 'USAGE', message: `The handler timeout must be positive, not ${handlerTimeoutMs} ms.` });
  const holder = options.holder ?? { pid: process.pid, host: hostname() };
  const isHolderAlive = options.isHolderAlive ?? isWriterAliveOnThisHost;
  // A claim outlives the longest handler call it covers, so a slow handler is never raced by a second apply.
  const leaseMs = Math.max(CLAIM_LEASE_MS, handlerTimeoutMs + 60_000);
  const context = await remediationContext(store, campaignId);
  if ((await store.campaigns.corrections(campaignId)).length === 0)
    throw new RetrialError({
      code: 'USAGE',
      message: `Campaign ${campaignId} has no planned corrections; run \`npx retrial remediate plan ${campaignId}\` first (after triage and review) and check the plan.`,
    });
  // Only what the plan holds is applied (new corrections need a new plan), and what a reviewer or a
  // new triage decided since counts: planned corrections no longer wanted are cancelled first.
  const { records, cancelled } = await reconcileCorrections(context, options.actor, options.now(), { addNew: false });
  const outcome: RemediationOutcome = { applied: 0, failed: 0, alreadyApplied: 0, cancelled, claimedElsewhere: 0, excluded: [], failures: [] };
  for (const record of records) {
    if (record.status === 'applied') {
      outcome.alreadyApplied++;
      continue;
    }
    if (record.status === 'cancelled') continue;
    const correction = parseStored(correctionSchema(), record.correction, `Correction ${record.idempotencyKey}`);
    const attempts = record.attempts + 1;
    const ledgerProblem = await correctionLedgerProblem(store, correction);
    if (ledgerProblem !== null) {
      const reason = `ledger-mismatch: ${ledgerProblem}`;
      await store.campaigns.updateCorrection(
        record.idempotencyKey,
        { status: 'failed', attempts: record.attempts, lastError: reason, appliedAt: null },
        {
          at: options.now(),
          actor: options.actor,
          action: 'correction.excluded',
          campaignId,
          details: { idempotencyKey: record.idempotencyKey, decisionId: correction.decisionId, reason },
        },
      );
      outcome.excluded.push({ idempotencyKey: record.idempotencyKey, decisionId: correction.decisionId, reason });
      continue;
    }
    // Another apply may be at the same decision right now: only the one holding the claim calls the handler.
    const claimedAt = options.now();
    let previousHolder: RunWriter | undefined;
    const claim = await store.campaigns.claimCorrection(
      { decisionId: correction.decisionId, idempotencyKey: record.idempotencyKey, at: claimedAt, expiresAt: claimedAt + leaseMs, holder },
      {
        isHolderAlive,
        // The claim of an apply that was killed: said in the audit log before this one acts on it.
        audit: (previous) => {
          const from = previous.holder ?? { pid: -1, host: 'unknown' };
          previousHolder = from;
          return {
            at: claimedAt,
            actor: options.actor,
            action: 'correction.claim.taken-over',
            campaignId,
            details: {
              idempotencyKey: record.idempotencyKey,
              decisionId: correction.decisionId,
              previousHolder: `pid ${from.pid} on ${from.host}`,
              previousClaimedAt: new Date(previous.at).toISOString(),
              reason: 'the process holding the claim is gone',
            },
          };
        },
      },
    );
    if (claim === 'taken-over' && previousHolder) {
      outcome.takenOver = [...(outcome.takenOver ?? []), { idempotencyKey: record.idempotencyKey, from: previousHolder }];
    }
    if (claim === 'claimed-elsewhere') {
      outcome.claimedElsewhere++;
      continue;
    }
    if (claim === 'corrected') {
      await cancelCorrection(store, record, `decision ${correction.decisionId} was corrected by another apply meanwhile`, {
        at: options.now(),
        actor: options.actor,
      });
      outcome.cancelled++;
      continue;
    }
    try {
      await callHandler(options.handler, structuredClone(correction), handlerTimeoutMs);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const timedOut = error instanceof HandlerTimeoutError;
      await store.campaigns.releaseCorrectionClaim(correction.decisionId, record.idempotencyKey);
      await store.campaigns.updateCorrection(
        record.idempotencyKey,
        { status: 'failed', attempts, lastError: message, appliedAt: null },
        {
          at: options.now(),
          actor: options.actor,
          action: 'correction.failed',
          campaignId,
          details: { idempotencyKey: record.idempotencyKey, decisionId: correction.decisionId, error: message, ...(timedOut ? { timedOut: true } : {}) },
        },
      );
      outcome.failed++;
      outcome.failures.push({ idempotencyKey: record.idempotencyKey, error: message, ...(timedOut ? { timedOut: true as const } : {}) });
      continue;
    }
    const at = options.now();
    const original = context.decisions.get(correction.decisionId);
    const superseding: DecisionRecord = {
      decisionId: `${correction.decisionId}/${record.idempotencyKey}`,
      runId: correction.runId,
      seq: original?.seq ?? -1,
      agent: original?.agent ?? 'retrial-remediation',
      type: correction.type,
      subject: correction.subject,
      value: correction.to,
      amount: correction.amount,
      currency: correction.currency,
      reversible: original?.reversible ?? true,
      effectiveAt: at,
      recordedAt: at,
      modelServed: correction.candidateModel,
      attributes: { ...(original?.attributes ?? {}), campaign: campaignId, correction: record.idempotencyKey, reason: correction.reason },
      supersedes: correction.decisionId,
    };
    await store.campaigns.recordApplied(record.idempotencyKey, at, attempts, superseding, {
      at,
      actor: options.actor,
      action: 'correction.applied',
      campaignId,
      details: {
        idempotencyKey: record.idempotencyKey,
        decisionId: correction.decisionId,
        from: correction.from,
        to: correction.to,
        amount: correction.amount,
      },
    });
    outcome.applied++;
  }
  return outcome;
}
