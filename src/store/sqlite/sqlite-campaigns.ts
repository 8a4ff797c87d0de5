import { AUDIT_GENESIS_HASH, auditEntryHash, auditOfCorrection, placeImportedAuditEntry } from '../audit-chain.ts';
import type {
  AuditDraft,
  AuditRecord,
  CampaignArm,
  CampaignItemRecord,
  CampaignRecord,
  CampaignResultRecord,
  CampaignStore,
  ClaimTakeover,
  CorrectionClaim,
  CorrectionRecord,
  ReviewVerdictRecord,
  TriageRecord,
} from '../campaign-store.ts';
import { StoreError } from '../errors.ts';
import type { DecisionRecord } from '../store.ts';
import type { SqliteDatabaseLike, StatementSource } from './sqlite-database.ts';
import { DECISION_COLUMNS, decisionParameters } from './sqlite-rows.ts';

/** How the SQLite store runs a body: its guard turns driver errors into StoreErrors. */
export type SqliteGuard = <Result>(action: string, body: () => Result) => Result;

interface ItemRow {
  campaign_id: string;
  item_id: string;
  chunk: number;
  arms: string;
  item_json: string;
}

interface CorrectionRow {
  idempotency_key: string;
  campaign_id: string;
  item_id: string;
  status: CorrectionRecord['status'];
  attempts: number;
  last_error: string | null;
  applied_at: number | null;
  correction_json: string;
}

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  campaign_id: string | null;
  details_json: string;
  prev_hash: string;
  hash: string;
}

const itemFromRow = (row: ItemRow): CampaignItemRecord => ({
  campaignId: row.campaign_id,
  itemId: row.item_id,
  chunk: row.chunk,
  arms: JSON.parse(row.arms) as CampaignArm[],
  item: JSON.parse(row.item_json),
});

const correctionFromRow = (row: CorrectionRow): CorrectionRecord => ({
  idempotencyKey: row.idempotency_key,
  campaignId: row.campaign_id,
  itemId: row.item_id,
  status: row.status,
  attempts: row.attempts,
  lastError: row.last_error,
  appliedAt: row.applied_at,
  correction: JSON.parse(row.correction_json),
});

const auditFromRow = (row: AuditRow): AuditRecord => ({
  seq: row.seq,
  at: row.at,
  actor: row.actor,
  action: row.action,
  campaignId: row.campaign_id,
  details: JSON.parse(row.details_json),
  prevHash: row.prev_hash,
  hash: row.hash,
});

export function createSqliteCampaignStore(database: SqliteDatabaseLike, statement: StatementSource, guard: SqliteGuard): CampaignStore {
  const insertDecision = () =>
    statement(
      `INSERT OR IGNORE INTO decisions (${DECISION_COLUMNS}) VALUES (${DECISION_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );

  const lastAudit = () => statement('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  const insertAudit = (record: AuditRecord) =>
    statement('INSERT INTO audit_log (seq, at, actor, action, campaign_id, details_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      record.seq,
      record.at,
      record.actor,
      record.action,
      record.campaignId,
      JSON.stringify(record.details),
      record.prevHash,
      record.hash,
    );

  const appendAuditTransaction = database.transaction((entry: AuditDraft): AuditRecord => {
    const last = lastAudit();
    const unsealed = { ...entry, details: entry.details ?? null, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? AUDIT_GENESIS_HASH };
    const record: AuditRecord = { ...unsealed, hash: auditEntryHash(unsealed) };
    insertAudit(record);
    return record;
  });

  const importAuditTransaction = database.transaction((entries: readonly AuditRecord[], corrections: readonly DecisionRecord[]): number => {
    let last = lastAudit() ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
    const hashAt = (seq: number) => (statement('SELECT hash FROM audit_log WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash;
    let added = 0;
    for (const entry of entries) {
      if (placeImportedAuditEntry(entry, last, hashAt) === 'skip') continue;
      insertAudit({ ...entry, details: entry.details ?? null });
      last = { seq: entry.seq, hash: entry.hash };
      added++;
    }
    const insert = insertDecision();
    for (const row of corrections) insert.run(...decisionParameters(row));
    return added;
  });

  /** Appends the entry inside the caller's transaction (better-sqlite3 nests it as a savepoint). */
  const auditWith = (entry: AuditDraft | undefined) => {
    if (entry) appendAuditTransaction(entry);
  };

  const createTransaction = database.transaction((campaign: CampaignRecord, items: readonly CampaignItemRecord[], audit?: AuditDraft) => {
    const exists = statement('SELECT 1 FROM campaigns WHERE campaign_id = ?').get(campaign.campaignId);
    if (exists !== undefined) throw new StoreError({ message: `Campaign ${campaign.campaignId} already exists.` });
    statement('INSERT INTO campaigns (campaign_id, created_at, plan_json) VALUES (?, ?, ?)').run(
      campaign.campaignId,
      campaign.createdAt,
      JSON.stringify(campaign.plan),
    );
    const insert = statement('INSERT INTO campaign_items (campaign_id, item_id, chunk, arms, item_json) VALUES (?, ?, ?, ?, ?)');
    for (const item of items) insert.run(campaign.campaignId, item.itemId, item.chunk, JSON.stringify(item.arms), JSON.stringify(item.item));
    auditWith(audit);
  });

  const putResultsTransaction = database.transaction((results: readonly CampaignResultRecord[]) => {
    const insert = statement('INSERT OR IGNORE INTO campaign_results (campaign_id, item_id, arm, at, result_json) VALUES (?, ?, ?, ?, ?)');
    let added = 0;
    for (const result of results) added += insert.run(result.campaignId, result.itemId, result.arm, result.at, JSON.stringify(result.result)).changes;
    return added;
  });

  const replaceTriageTransaction = database.transaction((campaignId: string, assignments: readonly TriageRecord[], audit?: AuditDraft) => {
    statement('DELETE FROM campaign_triage WHERE campaign_id = ?').run(campaignId);
    const insert = statement('INSERT INTO campaign_triage (campaign_id, item_id, action, rule) VALUES (?, ?, ?, ?)');
    for (const assignment of assignments) insert.run(campaignId, assignment.itemId, assignment.action, assignment.rule);
    auditWith(audit);
  });

  const addVerdictTransaction = database.transaction((verdict: ReviewVerdictRecord, audit?: AuditDraft) => {
    statement('INSERT INTO review_verdicts (campaign_id, item_id, verdict, reviewer, note, at) VALUES (?, ?, ?, ?, ?, ?)').run(
      verdict.campaignId,
      verdict.itemId,
      verdict.verdict,
      verdict.reviewer,
      verdict.note,
      verdict.at,
    );
    auditWith(audit);
  });

  const updateCorrectionTransaction = database.transaction(
    (key: string, update: Pick<CorrectionRecord, 'status' | 'attempts' | 'lastError' | 'appliedAt'>, audit?: AuditDraft) => {
      const changed = statement('UPDATE corrections SET status = ?, attempts = ?, last_error = ?, applied_at = ? WHERE idempotency_key = ?').run(
        update.status,
        update.attempts,
        update.lastError,
        update.appliedAt,
        key,
      ).changes;
      if (changed === 0) throw new StoreError({ message: `No correction has the idempotency key ${key}.` });
      auditWith(audit);
    },
  );

  const putCorrectionsTransaction = database.transaction((corrections: readonly CorrectionRecord[], audit?: (added: number) => AuditDraft) => {
    const insert = statement(
      'INSERT OR IGNORE INTO corrections (idempotency_key, campaign_id, item_id, status, attempts, last_error, applied_at, correction_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    let added = 0;
    for (const correction of corrections)
      added += insert.run(
        correction.idempotencyKey,
        correction.campaignId,
        correction.itemId,
        correction.status,
        correction.attempts,
        correction.lastError,
        correction.appliedAt,
        JSON.stringify(correction.correction),
      ).changes;
    if (added > 0 && audit) auditWith(audit(added));
    return added;
  });

  const recordAppliedTransaction = database.transaction((key: string, appliedAt: number, attempts: number, superseding: DecisionRecord, audit: AuditDraft) => {
    const existing = statement('SELECT decision_id FROM decisions WHERE supersedes = ? AND decision_id <> ?').get(
      superseding.supersedes,
      superseding.decisionId,
    ) as { decision_id: string } | undefined;
    if (existing)
      throw new StoreError({ message: `Decision ${superseding.supersedes} was already corrected by ${existing.decision_id}; it is not corrected twice.` });
    const changed = statement("UPDATE corrections SET status = 'applied', attempts = ?, last_error = NULL, applied_at = ? WHERE idempotency_key = ?").run(
      attempts,
      appliedAt,
      key,
    ).changes;
    if (changed === 0) throw new StoreError({ message: `No correction has the idempotency key ${key}.` });
    insertDecision().run(...decisionParameters(superseding));
    statement('DELETE FROM correction_claims WHERE decision_id = ?').run(superseding.supersedes);
    auditWith(auditOfCorrection(audit, superseding));
  });

  const claimTransaction = database.transaction(
    (claim: CorrectionClaim, takeover: ClaimTakeover | undefined): 'claimed' | 'taken-over' | 'corrected' | 'claimed-elsewhere' => {
      if (statement('SELECT 1 FROM decisions WHERE supersedes = ?').get(claim.decisionId)) return 'corrected';
      const live = statement('SELECT * FROM correction_claims WHERE decision_id = ? AND expires_at > ?').get(claim.decisionId, claim.at) as
        | ClaimRow
        | undefined;
      const previous = live === undefined ? undefined : claimFromRow(live);
      if (previous && (takeover === undefined || previous.holder === undefined || takeover.isHolderAlive(previous.holder))) return 'claimed-elsewhere';
      statement(
        'INSERT OR REPLACE INTO correction_claims (decision_id, idempotency_key, claimed_at, expires_at, holder_pid, holder_host) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(claim.decisionId, claim.idempotencyKey, claim.at, claim.expiresAt, claim.holder?.pid ?? null, claim.holder?.host ?? null);
      if (previous && takeover) {
        auditWith(takeover.audit(previous));
        return 'taken-over';
      }
      return 'claimed';
    },
  );

  return {
    async create(campaign, items, audit) {
      guard('write to', () => createTransaction.immediate(campaign, items, audit));
    },
    async get(campaignId) {
      const row = guard('read', () => statement('SELECT campaign_id, created_at, plan_json FROM campaigns WHERE campaign_id = ?').get(campaignId)) as
        | { campaign_id: string; created_at: number; plan_json: string }
        | undefined;
      return row && guard('read', () => ({ campaignId: row.campaign_id, createdAt: row.created_at, plan: JSON.parse(row.plan_json) }));
    },
    async list() {
      const rows = guard('read', () => statement('SELECT campaign_id, created_at, plan_json FROM campaigns ORDER BY created_at, campaign_id').all()) as Array<{
        campaign_id: string;
        created_at: number;
        plan_json: string;
      }>;
      return guard('read', () => rows.map((row) => ({ campaignId: row.campaign_id, createdAt: row.created_at, plan: JSON.parse(row.plan_json) })));
    },
    async items(campaignId, chunks) {
      const rows = guard('read', () =>
        chunks === undefined
          ? statement('SELECT * FROM campaign_items WHERE campaign_id = ? ORDER BY chunk, item_id').all(campaignId)
          : chunks.flatMap((chunk) => statement('SELECT * FROM campaign_items WHERE campaign_id = ? AND chunk = ? ORDER BY item_id').all(campaignId, chunk)),
      ) as ItemRow[];
      return guard('read', () => rows.map(itemFromRow));
    },
    async putResults(results) {
      return guard('write to', () => putResultsTransaction.immediate(results));
    },
    async results(campaignId, chunks) {
      const rows = guard('read', () =>
        chunks === undefined
          ? statement('SELECT campaign_id, item_id, arm, at, result_json FROM campaign_results WHERE campaign_id = ? ORDER BY item_id, arm').all(campaignId)
          : chunks.flatMap((chunk) =>
              statement(
                `SELECT r.campaign_id, r.item_id, r.arm, r.at, r.result_json FROM campaign_items i
                 JOIN campaign_results r ON r.campaign_id = i.campaign_id AND r.item_id = i.item_id
                 WHERE i.campaign_id = ? AND i.chunk = ? ORDER BY r.item_id, r.arm`,
              ).all(campaignId, chunk),
            ),
      ) as Array<{ campaign_id: string; item_id: string; arm: CampaignArm; at: number; result_json: string }>;
      return guard('read', () =>
        rows.map((row) => ({ campaignId: row.campaign_id, itemId: row.item_id, arm: row.arm, at: row.at, result: JSON.parse(row.result_json) })),
      );
    },
    async replaceTriage(campaignId, assignments, audit) {
      guard('write to', () => replaceTriageTransaction.immediate(campaignId, assignments, audit));
    },
    async triage(campaignId) {
      const rows = guard('read', () =>
        statement('SELECT campaign_id, item_id, action, rule FROM campaign_triage WHERE campaign_id = ? ORDER BY item_id').all(campaignId),
      ) as Array<{ campaign_id: string; item_id: string; action: string; rule: string }>;
      return rows.map((row) => ({ campaignId: row.campaign_id, itemId: row.item_id, action: row.action, rule: row.rule }));
    },
    async addVerdict(verdict, audit) {
      guard('write to', () => addVerdictTransaction.immediate(verdict, audit));
    },
    async verdicts(campaignId) {
      const rows = guard('read', () =>
        statement('SELECT campaign_id, item_id, verdict, reviewer, note, at FROM review_verdicts WHERE campaign_id = ? ORDER BY verdict_id').all(campaignId),
      ) as Array<{ campaign_id: string; item_id: string; verdict: ReviewVerdictRecord['verdict']; reviewer: string; note: string; at: number }>;
      return rows.map((row) => ({
        campaignId: row.campaign_id,
        itemId: row.item_id,
        verdict: row.verdict,
        reviewer: row.reviewer,
        note: row.note,
        at: row.at,
      }));
    },
    async putCorrections(corrections, audit) {
      return guard('write to', () => putCorrectionsTransaction.immediate(corrections, audit));
    },
    async updateCorrection(key, update, audit) {
      guard('write to', () => updateCorrectionTransaction.immediate(key, update, audit));
    },
    async corrections(campaignId) {
      const rows = guard('read', () =>
        statement('SELECT * FROM corrections WHERE campaign_id = ? ORDER BY item_id, idempotency_key').all(campaignId),
      ) as CorrectionRow[];
      return guard('read', () => rows.map(correctionFromRow));
    },
    async recordApplied(key, appliedAt, attempts, superseding, audit) {
      guard('write to', () => recordAppliedTransaction.immediate(key, appliedAt, attempts, superseding, audit));
    },
    async claimCorrection(claim, takeover) {
      return guard('write to', () => claimTransaction.immediate(claim, takeover));
    },
    async releaseCorrectionClaim(decisionId, idempotencyKey) {
      guard('write to', () => statement('DELETE FROM correction_claims WHERE decision_id = ? AND idempotency_key = ?').run(decisionId, idempotencyKey));
    },
    async appendAudit(entry) {
      return guard('write to', () => appendAuditTransaction.immediate(entry));
    },
    async importAudit(entries, corrections) {
      return guard('write to', () => importAuditTransaction.immediate(entries, corrections));
    },
    async audit(filter = {}) {
      const rows = guard('read', () =>
        filter.campaignId === undefined
          ? statement('SELECT * FROM audit_log ORDER BY seq').all()
          : statement('SELECT * FROM audit_log WHERE campaign_id = ? ORDER BY seq').all(filter.campaignId),
      ) as AuditRow[];
      return guard('read', () => rows.map(auditFromRow));
    },
  };
}

interface ClaimRow {
  decision_id: string;
  idempotency_key: string;
  claimed_at: number;
  expires_at: number;
  holder_pid: number | null;
  holder_host: string | null;
}

function claimFromRow(row: ClaimRow): CorrectionClaim {
  return {
    decisionId: row.decision_id,
    idempotencyKey: row.idempotency_key,
    at: row.claimed_at,
    expiresAt: row.expires_at,
    ...(row.holder_pid === null || row.holder_host === null ? {} : { holder: { pid: row.holder_pid, host: row.holder_host } }),
  };
}
