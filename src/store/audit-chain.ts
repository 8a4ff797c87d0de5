import { canonicalJson, sha256Hex } from '../tape/index.ts';
import type { AuditDraft, AuditRecord } from './campaign-store.ts';
import { StoreError } from './errors.ts';
import type { DecisionRecord } from './store.ts';

/** prevHash of the first audit entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** The hash of an audit entry: sha256 of its canonical JSON without the hash itself. */
export function auditEntryHash(entry: Omit<AuditRecord, 'hash'>): string {
  const { seq, at, actor, action, campaignId, details, prevHash } = entry;
  return sha256Hex(canonicalJson({ seq, at, actor, action, campaignId, details: details ?? null, prevHash }));
}

export interface AuditProblem {
  seq: number;
  problem: string;
}

/**
 * Checks the whole chain: seqs run 1, 2, 3 without gaps, each entry points at the hash of the one
 * before, and each hash is the hash of its entry. Any edit, insertion or deletion breaks one of these.
 */
export function verifyAuditChain(entries: readonly AuditRecord[]): AuditProblem[] {
  const problems: AuditProblem[] = [];
  let previousHash = AUDIT_GENESIS_HASH;
  entries.forEach((entry, index) => {
    if (entry.seq !== index + 1) problems.push({ seq: entry.seq, problem: `expected entry ${index + 1} here; an entry was removed or inserted` });
    if (entry.prevHash !== previousHash) problems.push({ seq: entry.seq, problem: 'does not point at the hash of the entry before it' });
    const { hash, ...unsealed } = entry;
    if (auditEntryHash(unsealed) !== hash)
      problems.push({ seq: entry.seq, problem: 'its content does not match its hash (it was changed after it was written)' });
    previousHash = hash;
  });
  return problems;
}

/**
 * The audit entry of an applied correction, carrying the superseding ledger row whole under
 * `ledgerRow`: a correction belongs to no run's chain, so the audit chain vouches for it and
 * verify compares the row with it. Both backends write this in the correction's transaction.
 */
export function auditOfCorrection(audit: AuditDraft, superseding: DecisionRecord): AuditDraft {
  const details = typeof audit.details === 'object' && audit.details !== null && !Array.isArray(audit.details) ? audit.details : { details: audit.details };
  return { ...audit, details: { ...details, ledgerRow: { ...superseding, attributes: { ...superseding.attributes } } } };
}

/** The superseding row an audit entry vouches for, if it carries one (see auditOfCorrection). */
export function correctionRowOf(entry: AuditRecord): Record<string, unknown> | undefined {
  const row = (entry.details as { ledgerRow?: unknown } | null)?.ledgerRow;
  return typeof row === 'object' && row !== null && typeof (row as { decisionId?: unknown }).decisionId === 'string'
    ? (row as Record<string, unknown>)
    : undefined;
}

/**
 * What importAudit does with one entry copied from another log, given this log's last entry and
 * the hash it holds at a seq: `skip` one it already holds, `append` the next link of its chain;
 * anything else is another history, refused. Both backends decide by this one function.
 */
export function placeImportedAuditEntry(
  entry: AuditRecord,
  last: { seq: number; hash: string },
  hashAt: (seq: number) => string | undefined,
): 'skip' | 'append' {
  const { hash, ...unsealed } = entry;
  if (auditEntryHash(unsealed) !== hash)
    throw new StoreError({ message: `Cannot import audit entry ${entry.seq}: its content does not match its hash (it was changed after it was written).` });
  if (entry.seq <= last.seq) {
    if (hashAt(entry.seq) === hash) return 'skip';
    throw new StoreError({
      message: `Cannot import audit entry ${entry.seq}: this audit log holds a different entry ${entry.seq}, so it has another history.`,
    });
  }
  if (entry.seq !== last.seq + 1 || entry.prevHash !== last.hash)
    throw new StoreError({
      message: `Cannot import audit entry ${entry.seq}: it does not continue this audit log, which ends at entry ${last.seq}.`,
    });
  return 'append';
}
