import { AUDIT_GENESIS_HASH, type AuditRecord, auditEntryHash } from '../store/index.ts';

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
