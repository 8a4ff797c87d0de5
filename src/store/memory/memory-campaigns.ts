import { AUDIT_GENESIS_HASH, auditEntryHash, auditOfCorrection, placeImportedAuditEntry } from '../audit-chain.ts';
import type {
  AuditDraft,
  AuditRecord,
  CampaignItemRecord,
  CampaignRecord,
  CampaignResultRecord,
  CampaignStore,
  CorrectionClaim,
  CorrectionRecord,
  ReviewVerdictRecord,
  TriageRecord,
} from '../campaign-store.ts';
import { StoreError } from '../errors.ts';
import type { DecisionRecord } from '../store.ts';
import { compareText } from './memory-filters.ts';

/** The campaign tables in Maps; copies in and out like the rest of the memory store. */
export function createMemoryCampaignStore(decisions: Map<string, DecisionRecord>, assertOpen: () => void): CampaignStore {
  const campaigns = new Map<string, CampaignRecord>();
  const items = new Map<string, CampaignItemRecord[]>();
  const results = new Map<string, CampaignResultRecord>();
  const triage = new Map<string, TriageRecord[]>();
  const verdicts: ReviewVerdictRecord[] = [];
  const corrections = new Map<string, CorrectionRecord>();
  const claims = new Map<string, CorrectionClaim>();
  const audit: AuditRecord[] = [];
  const copy = structuredClone;

  const correctionOrThrow = (key: string) => {
    const correction = corrections.get(key);
    if (!correction) throw new StoreError({ message: `No correction has the idempotency key ${key}.` });
    return correction;
  };

  function appendAudit(entry: AuditDraft): AuditRecord {
    const last = audit.at(-1);
    const { at, actor, action, campaignId, details } = copy(entry);
    const unsealed = { at, actor, action, campaignId, details: details ?? null, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? AUDIT_GENESIS_HASH };
    const record: AuditRecord = { ...unsealed, hash: auditEntryHash(unsealed) };
    audit.push(record);
    return record;
  }
  // Maps change synchronously, so a change and its audit entry land together as in one transaction.
  const auditWith = (entry: AuditDraft | undefined) => {
    if (entry) appendAudit(entry);
  };

  return {
    async create(campaign, campaignItems, entry) {
      assertOpen();
      if (campaigns.has(campaign.campaignId)) throw new StoreError({ message: `Campaign ${campaign.campaignId} already exists.` });
      campaigns.set(campaign.campaignId, copy(campaign));
      items.set(
        campaign.campaignId,
        copy([...campaignItems]).sort((a, b) => a.chunk - b.chunk || compareText(a.itemId, b.itemId)),
      );
      auditWith(entry);
    },
    async get(campaignId) {
      assertOpen();
      const campaign = campaigns.get(campaignId);
      return campaign && copy(campaign);
    },
    async list() {
      assertOpen();
      return copy([...campaigns.values()].sort((a, b) => a.createdAt - b.createdAt || compareText(a.campaignId, b.campaignId)));
    },
    async items(campaignId, chunks) {
      assertOpen();
      const all = items.get(campaignId) ?? [];
      if (chunks === undefined) return copy(all);
      return copy(chunks.flatMap((chunk) => all.filter((item) => item.chunk === chunk)));
    },
    async putResults(newResults) {
      assertOpen();
      let added = 0;
      for (const result of newResults) {
        const key = `${result.campaignId}\n${result.itemId}\n${result.arm}`;
        if (results.has(key)) continue;
        results.set(key, copy(result));
        added++;
      }
      return added;
    },
    async results(campaignId, chunks) {
      assertOpen();
      const inChunks = chunks && new Set((items.get(campaignId) ?? []).filter((item) => chunks.includes(item.chunk)).map((item) => item.itemId));
      return copy(
        [...results.values()]
          .filter((result) => result.campaignId === campaignId && (!inChunks || inChunks.has(result.itemId)))
          .sort((a, b) => compareText(a.itemId, b.itemId) || compareText(a.arm, b.arm)),
      );
    },
    async replaceTriage(campaignId, assignments, entry) {
      assertOpen();
      triage.set(
        campaignId,
        copy([...assignments]).sort((a, b) => compareText(a.itemId, b.itemId)),
      );
      auditWith(entry);
    },
    async triage(campaignId) {
      assertOpen();
      return copy(triage.get(campaignId) ?? []);
    },
    async addVerdict(verdict, entry) {
      assertOpen();
      verdicts.push(copy(verdict));
      auditWith(entry);
    },
    async verdicts(campaignId) {
      assertOpen();
      return copy(verdicts.filter((verdict) => verdict.campaignId === campaignId));
    },
    async putCorrections(newCorrections, entry) {
      assertOpen();
      let added = 0;
      for (const correction of newCorrections) {
        if (corrections.has(correction.idempotencyKey)) continue;
        corrections.set(correction.idempotencyKey, copy(correction));
        added++;
      }
      if (added > 0 && entry) auditWith(entry(added));
      return added;
    },
    async updateCorrection(key, update, entry) {
      assertOpen();
      const { status, attempts, lastError, appliedAt } = update;
      Object.assign(correctionOrThrow(key), { status, attempts, lastError, appliedAt });
      auditWith(entry);
    },
    async corrections(campaignId) {
      assertOpen();
      return copy(
        [...corrections.values()]
          .filter((correction) => correction.campaignId === campaignId)
          .sort((a, b) => compareText(a.itemId, b.itemId) || compareText(a.idempotencyKey, b.idempotencyKey)),
      );
    },
    async recordApplied(key, appliedAt, attempts, superseding, entry) {
      assertOpen();
      const correction = correctionOrThrow(key);
      const existing = [...decisions.values()].find(
        (decision) => decision.supersedes === superseding.supersedes && decision.decisionId !== superseding.decisionId,
      );
      if (existing)
        throw new StoreError({ message: `Decision ${superseding.supersedes} was already corrected by ${existing.decisionId}; it is not corrected twice.` });
      Object.assign(correction, { status: 'applied', attempts, lastError: null, appliedAt });
      if (!decisions.has(superseding.decisionId)) decisions.set(superseding.decisionId, copy(superseding));
      if (superseding.supersedes) claims.delete(superseding.supersedes);
      auditWith(auditOfCorrection(entry, superseding));
    },
    async claimCorrection(claim, takeover) {
      assertOpen();
      if ([...decisions.values()].some((decision) => decision.supersedes === claim.decisionId)) return 'corrected';
      const live = claims.get(claim.decisionId);
      const orphaned = live?.holder !== undefined && takeover !== undefined && !takeover.isHolderAlive(live.holder);
      if (live && live.expiresAt > claim.at && !orphaned) return 'claimed-elsewhere';
      claims.set(claim.decisionId, copy(claim));
      if (live && live.expiresAt > claim.at && takeover) {
        auditWith(takeover.audit(copy(live)));
        return 'taken-over';
      }
      return 'claimed';
    },
    async releaseCorrectionClaim(decisionId, idempotencyKey) {
      assertOpen();
      if (claims.get(decisionId)?.idempotencyKey === idempotencyKey) claims.delete(decisionId);
    },
    async appendAudit(entry) {
      assertOpen();
      return copy(appendAudit(entry));
    },
    async importAudit(entries, rows) {
      assertOpen();
      // Placed in full before anything changes: a refused entry leaves the log as it was.
      let last = audit.at(-1) ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
      const added: AuditRecord[] = [];
      for (const entry of entries) {
        if (placeImportedAuditEntry(entry, last, (seq) => audit[seq - 1]?.hash) === 'skip') continue;
        const { seq, at, actor, action, campaignId, details, prevHash, hash } = copy(entry);
        added.push({ seq, at, actor, action, campaignId, details: details ?? null, prevHash, hash });
        last = entry;
      }
      audit.push(...added);
      for (const row of rows) if (!decisions.has(row.decisionId)) decisions.set(row.decisionId, copy(row));
      return added.length;
    },
    async audit(filter = {}) {
      assertOpen();
      return copy(filter.campaignId === undefined ? audit : audit.filter((entry) => entry.campaignId === filter.campaignId));
    },
  };
}
