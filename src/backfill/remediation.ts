import type { CorrectionRecord, DecisionRecord, Store } from '../store/index.ts';
import { RetrialError, sha256Hex } from '../tape/index.ts';
import { recordAudit } from './audit-log.ts';
import { compareCampaign, latestVerdicts } from './compare-campaign.ts';
import { loadCampaign } from './load-campaign.ts';

/** What the user's handler receives: one correction to make in the system the decision landed in. */
export interface Correction {
  /** Stable across reruns: pass it to the downstream system so a retried call cannot act twice. */
  idempotencyKey: string;
  campaignId: string;
  decisionId: string;
  runId: string;
  type: string;
  subject: string;
  /** The value shipped, and the value the correction sets. */
  from: string;
  to: string;
  amount: number | null;
  currency: string | null;
  /** Why: the triage rule, or the reviewer's verdict. */
  reason: string;
  candidateModel: string;
}

/** The user's code that makes one correction; throw to report a failure (it will be retried). */
export type CorrectionHandler = (correction: Correction) => Promise<unknown> | unknown;

export interface RemediationPlanEntry extends Correction {
  status: CorrectionRecord['status'];
  attempts: number;
  lastError: string | null;
}

/**
 * Which flips get corrected: a reviewer said the candidate is right, or triage said `correct` and
 * no reviewer said otherwise. The list is stored (new entries only), so keys and statuses survive.
 */
export async function planRemediation(options: { store: Store; campaignId: string; actor: string; now: number }): Promise<RemediationPlanEntry[]> {
  const { store, campaignId } = options;
  const campaign = await loadCampaign(store, campaignId);
  const triage = new Map((await store.campaigns.triage(campaignId)).map((record) => [record.itemId, record]));
  const verdicts = latestVerdicts(await store.campaigns.verdicts(campaignId));
  const { flips } = compareCampaign(campaign);
  const wanted: CorrectionRecord[] = [];
  for (const flip of flips) {
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
  const added = await store.campaigns.putCorrections(wanted);
  if (added > 0)
    await recordAudit(store, {
      at: options.now,
      actor: options.actor,
      action: 'remediation.planned',
      campaignId,
      details: { corrections: wanted.length, new: added },
    });
  return (await store.campaigns.corrections(campaignId)).map((record) => ({
    ...(record.correction as Correction),
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
  failures: Array<{ idempotencyKey: string; error: string }>;
}

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
}): Promise<RemediationOutcome> {
  const { store, campaignId } = options;
  const corrections = await store.campaigns.corrections(campaignId);
  if (corrections.length === 0)
    throw new RetrialError({
      code: 'USAGE',
      message: `Campaign ${campaignId} has no planned corrections; run \`retrial remediate plan ${campaignId}\` first (after triage and review).`,
    });
  const originals = new Map(
    (await store.listDecisions({ includeSuperseded: true, type: (await loadCampaign(store, campaignId)).plan.decisionType })).map((decision) => [
      decision.decisionId,
      decision,
    ]),
  );
  const outcome: RemediationOutcome = { applied: 0, failed: 0, alreadyApplied: 0, failures: [] };
  for (const record of corrections) {
    if (record.status === 'applied') {
      outcome.alreadyApplied++;
      continue;
    }
    const correction = record.correction as Correction;
    const attempts = record.attempts + 1;
    try {
      await options.handler(structuredClone(correction));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await store.campaigns.updateCorrection(record.idempotencyKey, { status: 'failed', attempts, lastError: message, appliedAt: null });
      await recordAudit(store, {
        at: options.now(),
        actor: options.actor,
        action: 'correction.failed',
        campaignId,
        details: { idempotencyKey: record.idempotencyKey, decisionId: correction.decisionId, error: message },
      });
      outcome.failed++;
      outcome.failures.push({ idempotencyKey: record.idempotencyKey, error: message });
      continue;
    }
    const at = options.now();
    const original = originals.get(correction.decisionId);
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
    await store.campaigns.recordApplied(record.idempotencyKey, at, attempts, superseding);
    await recordAudit(store, {
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
