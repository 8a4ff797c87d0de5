import { type AuditProblem, correctionRowOf, verifyAuditChain } from './audit-chain.ts';
import type { AuditRecord } from './campaign-store.ts';
import { describeDifference, ledgerRowDifferences, type RunLedger } from './ledger-chain.ts';
import type { DecisionRecord, Store } from './store.ts';
import type { VerifyProblem } from './verify-store.ts';

/**
 * A correction written by `remediate apply` belongs to no run's chain: the audit entry written in
 * the same transaction vouches for it. Entries written since the ledger came under the chain carry
 * the row whole (`ledgerRow`); older ones carry the decision, key, new value and amount, and the
 * rest is checked against the decision the correction supersedes.
 */
export interface CorrectionVouchers {
  /** The first audit entry vouching for each superseding decision id, with the row it carries (null in an older entry). */
  bySupersedingId: Map<string, { entry: AuditRecord; row: Record<string, unknown> | null }>;
  /** Problems of the audit chain itself: an entry after a break vouches for nothing. */
  auditProblems: AuditProblem[];
  auditEntries: number;
}

export async function loadCorrectionVouchers(store: Store): Promise<CorrectionVouchers> {
  const entries = await store.campaigns.audit();
  const bySupersedingId = new Map<string, { entry: AuditRecord; row: Record<string, unknown> | null }>();
  for (const entry of entries) {
    const id = vouchedCorrectionId(entry);
    // The first entry wrote the row; a repeated recordApplied leaves the row as it was.
    if (id !== undefined && !bySupersedingId.has(id)) bySupersedingId.set(id, { entry, row: correctionRowOf(entry) ?? null });
  }
  return { bySupersedingId, auditProblems: verifyAuditChain(entries), auditEntries: entries.length };
}

/** The id of the correction row an audit entry of an applied correction vouches for, if it is one. */
export function vouchedCorrectionId(entry: AuditRecord): string | undefined {
  const row = correctionRowOf(entry);
  if (row !== undefined) return String(row.decisionId);
  const legacy = legacyDetails(entry);
  return legacy ? `${legacy.decisionId}/${legacy.idempotencyKey}` : undefined;
}

interface LegacyCorrectionDetails {
  idempotencyKey: string;
  decisionId: string;
  to: string;
  amount: number | null;
}

function legacyDetails(entry: AuditRecord): LegacyCorrectionDetails | undefined {
  if (entry.action !== 'correction.applied') return undefined;
  const details = entry.details as Partial<LegacyCorrectionDetails> | null;
  return typeof details?.decisionId === 'string' && typeof details.idempotencyKey === 'string' ? (details as LegacyCorrectionDetails) : undefined;
}

/**
 * What an older audit entry (without the row) says the correction row holds: its ids, new value,
 * amount and time from the entry, and what remediation copies from the decision it supersedes,
 * as that decision's chain says. Its served model and reason were not audited and are taken as stored.
 */
function legacyExpectation(row: DecisionRecord, entry: AuditRecord, ledger: RunLedger): DecisionRecord {
  const details = legacyDetails(entry) as LegacyCorrectionDetails;
  const original = ledger.decisions.get(details.decisionId);
  const expected: DecisionRecord = {
    ...row,
    decisionId: `${details.decisionId}/${details.idempotencyKey}`,
    supersedes: details.decisionId,
    value: details.to,
    amount: details.amount ?? null,
    effectiveAt: entry.at,
    recordedAt: entry.at,
  };
  if (original === undefined) return expected;
  const { runId, seq, agent, type, subject, currency, reversible } = original;
  const attributes: Record<string, string> = { ...original.attributes, campaign: entry.campaignId ?? '', correction: details.idempotencyKey };
  if (row.attributes.reason !== undefined) attributes.reason = row.attributes.reason;
  return { ...expected, runId, seq, agent, type, subject, currency, reversible, attributes };
}

/** Checks one correction row against the audit entry that vouches for it. `ledger` is its run's, when the run is in the store. */
export function checkCorrectionRow(row: DecisionRecord, vouchers: CorrectionVouchers, ledger: RunLedger): VerifyProblem[] {
  const voucher = vouchers.bySupersedingId.get(row.decisionId);
  if (voucher === undefined)
    return [
      {
        code: 'CORRECTION_UNVOUCHED',
        seq: null,
        decisionId: row.decisionId,
        field: 'supersedes',
        message: `decision ${row.decisionId} supersedes ${row.supersedes} but no audit entry of an applied correction vouches for it: corrections come only from \`npx retrial remediate apply\``,
      },
    ];
  const expected = voucher.row ?? legacyExpectation(row, voucher.entry, ledger);
  return ledgerRowDifferences(expected as unknown as DecisionRecord, row as unknown as Record<string, unknown>).map((difference) => ({
    code: 'CORRECTION_MISMATCH' as const,
    seq: null,
    decisionId: row.decisionId,
    field: difference.field,
    message: `correction ${row.decisionId}: ${describeDifference(difference, `audit entry ${voucher.entry.seq}`)}`,
  }));
}

/** What verifyLedger found outside any one run's check. */
export interface LedgerVerification {
  ok: boolean;
  /** Ledger rows in the store, corrections included. */
  decisions: number;
  auditEntries: number;
  /** `runId` is the run a row names, or null for the audit log itself. */
  problems: Array<VerifyProblem & { runId: string | null }>;
}

const NO_LEDGER: RunLedger = { decisions: new Map(), modelsServed: [] };

/**
 * The ledger checks no run's verification makes: the audit chain that vouches for corrections,
 * rows that name a run the store does not have, and applied corrections whose row is gone.
 */
export async function verifyLedger(store: Store, vouchers: Promise<CorrectionVouchers> = loadCorrectionVouchers(store)): Promise<LedgerVerification> {
  const loaded = await vouchers;
  const problems: LedgerVerification['problems'] = [];
  for (const { seq, problem } of loaded.auditProblems)
    problems.push({
      code: 'AUDIT_CHAIN_BROKEN',
      runId: null,
      seq: null,
      message: `audit entry ${seq} ${problem}; the corrections it vouches for are not vouched for`,
    });
  const rows = await store.listDecisions({ includeSuperseded: true });
  const runIds = new Set(await store.listRunIds());
  for (const row of rows) {
    if (runIds.has(row.runId)) continue;
    if (row.supersedes !== null) for (const problem of checkCorrectionRow(row, loaded, NO_LEDGER)) problems.push({ ...problem, runId: row.runId });
    else
      problems.push({
        code: 'LEDGER_ROW_UNVOUCHED',
        runId: row.runId,
        seq: row.seq,
        decisionId: row.decisionId,
        message: `decision ${row.decisionId} names run ${row.runId}, which is not in the store: no chain vouches for it`,
      });
  }
  const present = new Set(rows.map((row) => row.decisionId));
  for (const [decisionId, { entry, row }] of loaded.bySupersedingId)
    if (!present.has(decisionId))
      problems.push({
        code: 'CORRECTION_MISSING',
        runId: typeof row?.runId === 'string' ? row.runId : null,
        seq: null,
        decisionId,
        message: `audit entry ${entry.seq} says correction ${decisionId} was applied, but its row is not in the ledger`,
      });
  return { ok: problems.length === 0, decisions: rows.length, auditEntries: loaded.auditEntries, problems };
}
