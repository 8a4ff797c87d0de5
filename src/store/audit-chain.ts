import { canonicalJson, sha256Hex } from '../tape/index.ts';
import type { AuditRecord } from './campaign-store.ts';

/** prevHash of the first audit entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** The hash of an audit entry: sha256 of its canonical JSON without the hash itself. */
export function auditEntryHash(entry: Omit<AuditRecord, 'hash'>): string {
  const { seq, at, actor, action, campaignId, details, prevHash } = entry;
  return sha256Hex(canonicalJson({ seq, at, actor, action, campaignId, details: details ?? null, prevHash }));
}
