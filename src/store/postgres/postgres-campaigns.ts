import { AUDIT_GENESIS_HASH, auditEntryHash, auditOfCorrection, placeImportedAuditEntry } from '../audit-chain.ts';
import type {
  AuditDraft,
  AuditRecord,
  CampaignArm,
  CampaignItemRecord,
  CampaignStore,
  CorrectionClaim,
  CorrectionRecord,
  ReviewVerdictRecord,
} from '../campaign-store.ts';
import { StoreError } from '../errors.ts';
import type { PgClientLike } from './postgres-database.ts';
import { columnsOf, DECISION_ARRAY_TYPES, DECISION_COLUMNS, decisionParameters, unnestOf } from './postgres-rows.ts';
import type { PostgresRead, PostgresTransaction } from './postgres-store.ts';

/**
 * Advisory lock keys (first of two int4 keys): the audit chain's tail, and a decision's right to
 * be corrected (second key: hashtext of the decision id). Taken inside the transaction and held
 * to its end, so processes appending to the audit log or claiming one decision go one at a time.
 */
const AUDIT_LOCK = 0x61756469;
const CLAIM_LOCK = 0x636c6169;

const itemFromRow = (row: Record<string, unknown>): CampaignItemRecord => ({
  campaignId: row.campaign_id as string,
  itemId: row.item_id as string,
  chunk: row.chunk as number,
  arms: JSON.parse(row.arms as string) as CampaignArm[],
  item: JSON.parse(row.item_json as string),
});

const correctionFromRow = (row: Record<string, unknown>): CorrectionRecord => ({
  idempotencyKey: row.idempotency_key as string,
  campaignId: row.campaign_id as string,
  itemId: row.item_id as string,
  status: row.status as CorrectionRecord['status'],
  attempts: row.attempts as number,
  lastError: row.last_error as string | null,
  appliedAt: row.applied_at as number | null,
  correction: JSON.parse(row.correction_json as string),
});

const auditFromRow = (row: Record<string, unknown>): AuditRecord => ({
  seq: row.seq as number,
  at: row.at as number,
  actor: row.actor as string,
  action: row.action as string,
  campaignId: row.campaign_id as string | null,
  details: JSON.parse(row.details_json as string),
  prevHash: row.prev_hash as string,
  hash: row.hash as string,
});

function claimFromRow(row: Record<string, unknown>): CorrectionClaim {
  return {
    decisionId: row.decision_id as string,
    idempotencyKey: row.idempotency_key as string,
    at: row.claimed_at as number,
    expiresAt: row.expires_at as number,
    ...(row.holder_pid === null || row.holder_host === null ? {} : { holder: { pid: row.holder_pid as number, host: row.holder_host as string } }),
  };
}

/** Appends an audit entry inside the caller's transaction: the chain's tail is locked until it commits. */
async function appendAuditIn(client: PgClientLike, entry: AuditDraft): Promise<AuditRecord> {
  await client.query('SELECT pg_advisory_xact_lock($1, 0)', [AUDIT_LOCK]);
  const last = (await client.query('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows[0] as { seq: number; hash: string } | undefined;
  const unsealed = { ...entry, details: entry.details ?? null, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? AUDIT_GENESIS_HASH };
  const record: AuditRecord = { ...unsealed, hash: auditEntryHash(unsealed) };
  await client.query('INSERT INTO audit_log (seq, at, actor, action, campaign_id, details_json, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
    record.seq,
    record.at,
    record.actor,
    record.action,
    record.campaignId,
    JSON.stringify(record.details),
    record.prevHash,
    record.hash,
  ]);
  return record;
}

async function auditWith(client: PgClientLike, entry: AuditDraft | undefined): Promise<void> {
  if (entry) await appendAuditIn(client, entry);
}

/** The campaign part of the PostgreSQL store; every write is one transaction, with its audit entry. */
export function createPostgresCampaignStore(transaction: PostgresTransaction, read: PostgresRead, assertWritable: () => void): CampaignStore {
  const rowsOf = (sql: string, values: unknown[] = []) => read('read', async (pool) => (await pool.query(sql, values)).rows);

  return {
    async create(campaign, items, audit) {
      await transaction('write to', async (client) => {
        const inserted = await client.query('INSERT INTO campaigns (campaign_id, created_at, plan_json) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          campaign.campaignId,
          campaign.createdAt,
          JSON.stringify(campaign.plan),
        ]);
        if (inserted.rowCount === 0) throw new StoreError({ message: `Campaign ${campaign.campaignId} already exists.` });
        // In slices: one statement per 5,000 items keeps each parameter array a few MB.
        for (let start = 0; start < items.length; start += 5_000) {
          const rows = items
            .slice(start, start + 5_000)
            .map((item) => [campaign.campaignId, item.itemId, item.chunk, JSON.stringify(item.arms), JSON.stringify(item.item)]);
          await client.query(
            `INSERT INTO campaign_items (campaign_id, item_id, chunk, arms, item_json) SELECT * FROM ${unnestOf(['text[]', 'text[]', 'integer[]', 'text[]', 'text[]'])}`,
            columnsOf(rows, 5),
          );
        }
        await auditWith(client, audit);
      });
    },
    async get(campaignId) {
      const [row] = await rowsOf('SELECT campaign_id, created_at, plan_json FROM campaigns WHERE campaign_id = $1', [campaignId]);
      return row && { campaignId: row.campaign_id as string, createdAt: row.created_at as number, plan: JSON.parse(row.plan_json as string) };
    },
    async list() {
      const rows = await rowsOf('SELECT campaign_id, created_at, plan_json FROM campaigns ORDER BY created_at, campaign_id');
      return rows.map((row) => ({ campaignId: row.campaign_id as string, createdAt: row.created_at as number, plan: JSON.parse(row.plan_json as string) }));
    },
    async items(campaignId, chunks) {
      const rows =
        chunks === undefined
          ? await rowsOf('SELECT * FROM campaign_items WHERE campaign_id = $1 ORDER BY chunk, item_id', [campaignId])
          : await rowsOf('SELECT * FROM campaign_items WHERE campaign_id = $1 AND chunk = ANY($2::integer[]) ORDER BY item_id', [campaignId, [...chunks]]);
      if (chunks === undefined) return rows.map(itemFromRow);
      // In the order the chunks were asked for, as the SQLite store gives them.
      const byChunk = new Map<number, CampaignItemRecord[]>();
      for (const item of rows.map(itemFromRow)) {
        const list = byChunk.get(item.chunk);
        if (list) list.push(item);
        else byChunk.set(item.chunk, [item]);
      }
      return chunks.flatMap((chunk) => byChunk.get(chunk) ?? []);
    },
    async putResults(results) {
      if (results.length === 0) {
        assertWritable();
        return 0;
      }
      return transaction('write to', async (client) => {
        const rows = results.map((result) => [result.campaignId, result.itemId, result.arm, result.at, JSON.stringify(result.result)]);
        // First write wins: a resumed or duplicated chunk adds nothing for an arm that has a result.
        const inserted = await client.query(
          `INSERT INTO campaign_results (campaign_id, item_id, arm, at, result_json) SELECT * FROM ${unnestOf(['text[]', 'text[]', 'text[]', 'float8[]', 'text[]'])}
           ON CONFLICT DO NOTHING`,
          columnsOf(rows, 5),
        );
        return inserted.rowCount ?? 0;
      });
    },
    async results(campaignId, chunks) {
      const rows =
        chunks === undefined
          ? await rowsOf('SELECT campaign_id, item_id, arm, at, result_json FROM campaign_results WHERE campaign_id = $1 ORDER BY item_id, arm', [campaignId])
          : await rowsOf(
              `SELECT r.campaign_id, r.item_id, r.arm, r.at, r.result_json FROM campaign_items i
               JOIN campaign_results r ON r.campaign_id = i.campaign_id AND r.item_id = i.item_id
               WHERE i.campaign_id = $1 AND i.chunk = ANY($2::integer[]) ORDER BY r.item_id, r.arm`,
              [campaignId, [...chunks]],
            );
      return rows.map((row) => ({
        campaignId: row.campaign_id as string,
        itemId: row.item_id as string,
        arm: row.arm as CampaignArm,
        at: row.at as number,
        result: JSON.parse(row.result_json as string),
      }));
    },
    async replaceTriage(campaignId, assignments, audit) {
      await transaction('write to', async (client) => {
        await client.query('DELETE FROM campaign_triage WHERE campaign_id = $1', [campaignId]);
        if (assignments.length) {
          const rows = assignments.map((assignment) => [campaignId, assignment.itemId, assignment.action, assignment.rule]);
          await client.query(
            `INSERT INTO campaign_triage (campaign_id, item_id, action, rule) SELECT * FROM ${unnestOf(['text[]', 'text[]', 'text[]', 'text[]'])}`,
            columnsOf(rows, 4),
          );
        }
        await auditWith(client, audit);
      });
    },
    async triage(campaignId) {
      const rows = await rowsOf('SELECT campaign_id, item_id, action, rule FROM campaign_triage WHERE campaign_id = $1 ORDER BY item_id', [campaignId]);
      return rows.map((row) => ({
        campaignId: row.campaign_id as string,
        itemId: row.item_id as string,
        action: row.action as string,
        rule: row.rule as string,
      }));
    },
    async addVerdict(verdict, audit) {
      await transaction('write to', async (client) => {
        await client.query('INSERT INTO review_verdicts (campaign_id, item_id, verdict, reviewer, note, at) VALUES ($1, $2, $3, $4, $5, $6)', [
          verdict.campaignId,
          verdict.itemId,
          verdict.verdict,
          verdict.reviewer,
          verdict.note,
          verdict.at,
        ]);
        await auditWith(client, audit);
      });
    },
    async verdicts(campaignId) {
      const rows = await rowsOf('SELECT campaign_id, item_id, verdict, reviewer, note, at FROM review_verdicts WHERE campaign_id = $1 ORDER BY verdict_id', [
        campaignId,
      ]);
      return rows.map((row) => ({
        campaignId: row.campaign_id as string,
        itemId: row.item_id as string,
        verdict: row.verdict as ReviewVerdictRecord['verdict'],
        reviewer: row.reviewer as string,
        note: row.note as string,
        at: row.at as number,
      }));
    },
    async putCorrections(corrections, audit) {
      return transaction('write to', async (client) => {
        if (corrections.length === 0) return 0;
        const rows = corrections.map((correction) => [
          correction.idempotencyKey,
          correction.campaignId,
          correction.itemId,
          correction.status,
          correction.attempts,
          correction.lastError,
          correction.appliedAt,
          JSON.stringify(correction.correction),
        ]);
        const inserted = await client.query(
          `INSERT INTO corrections (idempotency_key, campaign_id, item_id, status, attempts, last_error, applied_at, correction_json)
           SELECT * FROM ${unnestOf(['text[]', 'text[]', 'text[]', 'text[]', 'integer[]', 'text[]', 'float8[]', 'text[]'])} ON CONFLICT DO NOTHING`,
          columnsOf(rows, 8),
        );
        const added = inserted.rowCount ?? 0;
        if (added > 0 && audit) await auditWith(client, audit(added));
        return added;
      });
    },
    async updateCorrection(key, update, audit) {
      await transaction('write to', async (client) => {
        const changed = await client.query('UPDATE corrections SET status = $1, attempts = $2, last_error = $3, applied_at = $4 WHERE idempotency_key = $5', [
          update.status,
          update.attempts,
          update.lastError,
          update.appliedAt,
          key,
        ]);
        if (changed.rowCount === 0) throw new StoreError({ message: `No correction has the idempotency key ${key}.` });
        await auditWith(client, audit);
      });
    },
    async corrections(campaignId) {
      const rows = await rowsOf('SELECT * FROM corrections WHERE campaign_id = $1 ORDER BY item_id, idempotency_key', [campaignId]);
      return rows.map(correctionFromRow);
    },
    async recordApplied(key, appliedAt, attempts, superseding, audit) {
      await transaction('write to', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLAIM_LOCK, superseding.supersedes]);
        const [existing] = (
          await client.query('SELECT decision_id FROM decisions WHERE supersedes = $1 AND decision_id <> $2', [superseding.supersedes, superseding.decisionId])
        ).rows;
        if (existing)
          throw new StoreError({ message: `Decision ${superseding.supersedes} was already corrected by ${existing.decision_id}; it is not corrected twice.` });
        const changed = await client.query(
          "UPDATE corrections SET status = 'applied', attempts = $1, last_error = NULL, applied_at = $2 WHERE idempotency_key = $3",
          [attempts, appliedAt, key],
        );
        if (changed.rowCount === 0) throw new StoreError({ message: `No correction has the idempotency key ${key}.` });
        const parameters = decisionParameters(superseding);
        await client.query(
          `INSERT INTO decisions (${DECISION_COLUMNS}) VALUES (${parameters.map((_, position) => `$${position + 1}`).join(', ')}) ON CONFLICT DO NOTHING`,
          parameters,
        );
        await client.query('DELETE FROM correction_claims WHERE decision_id = $1', [superseding.supersedes]);
        await auditWith(client, auditOfCorrection(audit, superseding));
      });
    },
    async claimCorrection(claim, takeover) {
      return transaction('write to', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLAIM_LOCK, claim.decisionId]);
        if ((await client.query('SELECT 1 FROM decisions WHERE supersedes = $1', [claim.decisionId])).rows.length) return 'corrected';
        const [live] = (await client.query('SELECT * FROM correction_claims WHERE decision_id = $1 AND expires_at > $2', [claim.decisionId, claim.at])).rows;
        const previous = live === undefined ? undefined : claimFromRow(live);
        if (previous && (takeover === undefined || previous.holder === undefined || takeover.isHolderAlive(previous.holder))) return 'claimed-elsewhere';
        await client.query(
          `INSERT INTO correction_claims (decision_id, idempotency_key, claimed_at, expires_at, holder_pid, holder_host) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (decision_id) DO UPDATE SET idempotency_key = excluded.idempotency_key, claimed_at = excluded.claimed_at,
             expires_at = excluded.expires_at, holder_pid = excluded.holder_pid, holder_host = excluded.holder_host`,
          [claim.decisionId, claim.idempotencyKey, claim.at, claim.expiresAt, claim.holder?.pid ?? null, claim.holder?.host ?? null],
        );
        if (previous && takeover) {
          await auditWith(client, takeover.audit(previous));
          return 'taken-over';
        }
        return 'claimed';
      });
    },
    async releaseCorrectionClaim(decisionId, idempotencyKey) {
      await transaction('write to', async (client) => {
        await client.query('DELETE FROM correction_claims WHERE decision_id = $1 AND idempotency_key = $2', [decisionId, idempotencyKey]);
      });
    },
    async appendAudit(entry) {
      return transaction('write to', (client) => appendAuditIn(client, entry));
    },
    async importAudit(entries, corrections) {
      return transaction('write to', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1, 0)', [AUDIT_LOCK]);
        const [tail] = (await client.query('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')).rows as Array<{ seq: number; hash: string }>;
        let last = tail ?? { seq: 0, hash: AUDIT_GENESIS_HASH };
        // What this log holds at the seqs the entries name, in one read.
        const named = entries.filter((entry) => entry.seq <= last.seq).map((entry) => entry.seq);
        const held = new Map<number, string>();
        if (named.length)
          for (const row of (await client.query('SELECT seq, hash FROM audit_log WHERE seq = ANY($1::bigint[])', [named])).rows)
            held.set(row.seq as number, row.hash as string);
        const added: AuditRecord[] = [];
        for (const entry of entries) {
          if (placeImportedAuditEntry(entry, last, (seq) => held.get(seq)) === 'skip') continue;
          added.push(entry);
          last = entry;
        }
        if (added.length)
          await client.query(
            `INSERT INTO audit_log (seq, at, actor, action, campaign_id, details_json, prev_hash, hash) SELECT * FROM ${unnestOf(['bigint[]', 'bigint[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]', 'text[]'])}`,
            columnsOf(
              added.map((entry) => [
                entry.seq,
                entry.at,
                entry.actor,
                entry.action,
                entry.campaignId,
                JSON.stringify(entry.details ?? null),
                entry.prevHash,
                entry.hash,
              ]),
              8,
            ),
          );
        if (corrections.length)
          await client.query(
            `INSERT INTO decisions (${DECISION_COLUMNS}) SELECT * FROM ${unnestOf(DECISION_ARRAY_TYPES)} ON CONFLICT DO NOTHING`,
            columnsOf(corrections.map(decisionParameters), DECISION_ARRAY_TYPES.length),
          );
        return added.length;
      });
    },
    async audit(filter = {}) {
      const rows =
        filter.campaignId === undefined
          ? await rowsOf('SELECT * FROM audit_log ORDER BY seq')
          : await rowsOf('SELECT * FROM audit_log WHERE campaign_id = $1 ORDER BY seq', [filter.campaignId]);
      return rows.map(auditFromRow);
    },
  };
}
