import { canonicalJson, RetrialError, type RunRecord, sha256Hex } from '../tape/index.ts';
import { verifyAuditChain } from './audit-chain.ts';
import type { AuditRecord } from './campaign-store.ts';
import {
  applyCampaignCatchUp,
  type CampaignCatchUp,
  type CampaignContent,
  campaignDigest,
  isCaughtUp,
  planCampaignCatchUp,
  readCampaignContent,
} from './copy-campaigns.ts';
import type { DecisionRecord, Store } from './store.ts';
import { verifyLedger, vouchedCorrectionId } from './verify-ledger.ts';
import { createVerifyContext, type VerifyProblem, verifyRun } from './verify-store.ts';

/**
 * The target holds other data under the source's ids (a run, a campaign, or an audit history that
 * is not the source's), or the source's audit log is broken: nothing was written.
 */
export class CopyRefusedError extends RetrialError {
  constructor(message: string) {
    super({ code: 'COPY_REFUSED', message });
    this.name = 'CopyRefusedError';
  }
}

export type CopyPhase = 'check' | 'runs' | 'campaigns' | 'audit' | 'verify';

export interface CopyProgress {
  phase: CopyPhase;
  done: number;
  total: number;
}

export interface CopyStoreOptions {
  onProgress?: (progress: CopyProgress) => void;
  /** Stops between two runs (or campaigns, or audit batches) with the signal's reason; what was written stays, and a second copy finishes. */
  signal?: AbortSignal;
  /** Runs read and written at once, so a networked target's round trips overlap; default 4. */
  concurrency?: number;
}

export interface CopyVerification {
  ok: boolean;
  /** Runs verified in the target, the way `retrial verify` checks them. */
  runs: number;
  events: number;
  blobsChecked: number;
  decisionsChecked: number;
  /** What verify found in the target; `runId` null: its audit log or ledger as a whole. */
  problems: Array<VerifyProblem & { runId: string | null }>;
  /** Where the target does not hold what the source holds, one sentence each. */
  differences: string[];
}

export interface CopyStoreResult {
  from: string;
  to: string;
  runs: {
    inSource: number;
    copied: number;
    alreadyPresent: number;
    /** Runs still being recorded into the source: left for a later copy, which takes them once they end. */
    stillRecording: string[];
  };
  analyses: { inSource: number; copied: number };
  /** Ledger rows of the copied runs (corrections included), and sha256 of them in canonical JSON: the same in both stores. */
  decisions: { inSource: number; corrections: number; digest: string };
  campaigns: { inSource: number; copied: number; updated: number; alreadyPresent: number; digests: Record<string, string> };
  audit: { inSource: number; copied: number; headHash: string | null };
  /** True when the target already held everything: this copy wrote nothing. */
  nothingToCopy: boolean;
  verification: CopyVerification;
  /** Wall time of the whole copy, verification included. */
  durationMs: number;
  /** Runs written per second of the run phase (0 when none were). */
  runsPerSecond: number;
}

const DEFAULT_CONCURRENCY = 4;
/** Audit entries per importAudit call: one transaction each. */
const AUDIT_ENTRIES_PER_IMPORT = 1_000;

/** The fields that identify a run's content: the header (root), the events (head), the ending (seal). */
const runIdentity = (run: RunRecord) => canonicalJson([run.rootHash, run.headHash, run.sealHash, run.eventCount, run.status]);

/**
 * Moves everything one store holds into another: every run with its events, blobs, ledger rows,
 * served models and analyses, every campaign with its items, results, triage, verdicts and
 * corrections, the audit log entry for entry (so its chain verifies in the target) and the
 * correction rows it vouches for. Checks first, writing nothing, that the target holds no other
 * data under the same ids (CopyRefusedError). Each run lands in one transaction and a run already
 * there is never written again, so a copy killed at any point finishes when it runs again, and a
 * second copy writes nothing. Ends by verifying the target's runs as `retrial verify` does and
 * comparing them, the ledger, the campaigns and the audit log with the source's.
 */
export async function copyStore(source: Store, target: Store, options: CopyStoreOptions = {}): Promise<CopyStoreResult> {
  const started = performance.now();
  const { signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const report = (phase: CopyPhase, done: number, total: number) => options.onProgress?.({ phase, done, total });

  // Check: everything that could refuse the copy is read and decided before the first write.
  const [sourceIds, recording, presentIds, sourceAudit, targetAudit] = await Promise.all([
    source.listRunIds(),
    source.listRuns({ status: 'recording' }),
    target.listRunIds(),
    source.campaigns.audit(),
    target.campaigns.audit(),
  ]);
  const stillRecording = new Set(recording.map((run) => run.runId));
  const present = new Set(presentIds);
  const runIds = sourceIds.filter((runId) => !stillRecording.has(runId));
  checkAuditHistories(sourceAudit, targetAudit);
  const campaignPlans = await planCampaigns(source, target);
  const existing = runIds.filter((runId) => present.has(runId));
  let checked = 0;
  report('check', 0, existing.length);
  await forEachConcurrently(existing, concurrency, signal, async (runId) => {
    await checkSameRun(source, target, runId);
    report('check', ++checked, existing.length);
  });

  const result: CopyStoreResult = {
    from: source.location,
    to: target.location,
    runs: { inSource: sourceIds.length, copied: 0, alreadyPresent: existing.length, stillRecording: [...stillRecording] },
    analyses: { inSource: 0, copied: 0 },
    decisions: { inSource: 0, corrections: 0, digest: '' },
    campaigns: { inSource: campaignPlans.length, copied: 0, updated: 0, alreadyPresent: 0, digests: {} },
    audit: { inSource: sourceAudit.length, copied: 0, headHash: sourceAudit.at(-1)?.hash ?? null },
    nothingToCopy: false,
    verification: { ok: false, runs: 0, events: 0, blobsChecked: 0, decisionsChecked: 0, problems: [], differences: [] },
    durationMs: 0,
    runsPerSecond: 0,
  };

  // Runs: each lands whole in one transaction (importRunBundle), with its analyses after it.
  const runsStarted = performance.now();
  let done = 0;
  // Blobs an import of this copy has committed to the target: later bundles leave them out, so a
  // system prompt every run shares crosses the wire once, not once per run.
  const inTarget = new Set<string>();
  report('runs', 0, runIds.length);
  await forEachConcurrently(runIds, concurrency, signal, async (runId) => {
    if (!present.has(runId)) {
      const bundle = await source.getRunBundle(runId);
      const outcome = await target.importRunBundle({
        ...bundle,
        blobs: bundle.blobs.filter((blob) => !inTarget.has(blob.hash)),
        // A correction is no part of its run's chain: it comes with the audit entry that vouches for it.
        decisions: bundle.decisions.filter((decision) => decision.supersedes === null),
      });
      if (outcome === 'exists') await checkSameRun(source, target, runId);
      else {
        result.runs.copied++;
        for (const blob of bundle.blobs) inTarget.add(blob.hash);
      }
    }
    const analyses = await copyAnalyses(source, target, runId);
    result.analyses.inSource += analyses.inSource;
    result.analyses.copied += analyses.copied;
    report('runs', ++done, runIds.length);
  });
  result.runs.alreadyPresent = runIds.length - result.runs.copied;
  const runSeconds = (performance.now() - runsStarted) / 1000;
  result.runsPerSecond = result.runs.copied > 0 ? Math.round(result.runs.copied / runSeconds) : 0;

  // Campaigns after the runs their items name; then the audit log that vouches for their history.
  report('campaigns', 0, campaignPlans.length);
  for (const [index, { content, plan }] of campaignPlans.entries()) {
    signal?.throwIfAborted();
    if (isCaughtUp(plan)) result.campaigns.alreadyPresent++;
    else {
      await applyCampaignCatchUp(target.campaigns, content, plan);
      if (plan.create) result.campaigns.copied++;
      else result.campaigns.updated++;
    }
    result.campaigns.digests[content.campaign.campaignId] = campaignDigest(content);
    report('campaigns', index + 1, campaignPlans.length);
  }

  const sourceLedger = await source.listDecisions({ includeSuperseded: true });
  result.audit.copied = await copyAudit(target, sourceAudit, targetAudit.length, sourceLedger, signal, (copied) =>
    report('audit', targetAudit.length + copied, sourceAudit.length),
  );

  // Rows of the runs copied, and every correction (the audit log brought them); not rows of runs recorded meanwhile.
  const copiedRuns = new Set(runIds);
  const copiedLedger = sourceLedger.filter((row) => row.supersedes !== null || copiedRuns.has(row.runId));
  result.decisions = {
    inSource: copiedLedger.length,
    corrections: copiedLedger.filter((row) => row.supersedes !== null).length,
    digest: sha256Hex(canonicalJson(copiedLedger)),
  };
  result.nothingToCopy =
    result.runs.copied === 0 && result.analyses.copied === 0 && result.audit.copied === 0 && result.campaigns.alreadyPresent === campaignPlans.length;

  result.verification = await verifyCopy(
    source,
    target,
    { runIds, ledger: copiedLedger, campaigns: campaignPlans.map(({ content }) => content), sourceAudit },
    concurrency,
    signal,
    (verified) => report('verify', verified, runIds.length),
  );
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

/** The target's audit log must be the source's or an earlier part of it: one chain, never two. */
function checkAuditHistories(sourceAudit: readonly AuditRecord[], targetAudit: readonly AuditRecord[]): void {
  const [broken] = verifyAuditChain(sourceAudit);
  if (broken !== undefined)
    throw new CopyRefusedError(
      `The source's audit log is broken at entry ${broken.seq} (${broken.problem}); \`npx retrial audit --verify\` on the source shows where. Nothing was copied.`,
    );
  const differs = targetAudit.findIndex((entry, index) => entry.hash !== sourceAudit[index]?.hash);
  if (differs >= 0) {
    const entry = targetAudit[differs] as AuditRecord;
    throw new CopyRefusedError(
      differs >= sourceAudit.length
        ? `The target's audit log has ${targetAudit.length} entries, more than the source's ${sourceAudit.length}: it holds another history (copy into a store without one). Nothing was copied.`
        : `The target's audit log differs from the source's at entry ${entry.seq} (${entry.action} at ${new Date(entry.at).toISOString()}): it holds another history (copy into a store without one). Nothing was copied.`,
    );
  }
}

interface PlannedCampaign {
  content: CampaignContent;
  plan: CampaignCatchUp;
}

async function planCampaigns(source: Store, target: Store): Promise<PlannedCampaign[]> {
  const planned: PlannedCampaign[] = [];
  for (const campaign of await source.campaigns.list()) {
    const content = await readCampaignContent(source.campaigns, campaign);
    const held = await target.campaigns.get(campaign.campaignId);
    const plan = planCampaignCatchUp(content, held === undefined ? undefined : await readCampaignContent(target.campaigns, held));
    if (typeof plan === 'string')
      throw new CopyRefusedError(
        `The target holds another campaign ${campaign.campaignId}: ${plan}. Copy into a store that does not hold it. Nothing was copied.`,
      );
    planned.push({ content, plan });
  }
  return planned;
}

async function checkSameRun(source: Store, target: Store, runId: string): Promise<void> {
  const [mine, theirs] = await Promise.all([source.getRunOrThrow(runId), target.getRun(runId)]);
  if (theirs !== undefined && runIdentity(theirs) !== runIdentity(mine))
    throw new CopyRefusedError(
      `The target holds another run ${runId} (its header, events or ending differ from the source's). Copy into a store that does not hold it.`,
    );
}

async function copyAnalyses(source: Store, target: Store, runId: string): Promise<{ inSource: number; copied: number }> {
  const analyses = await source.listRunAnalyses(runId);
  if (analyses.length === 0) return { inSource: 0, copied: 0 };
  const held = new Map((await target.listRunAnalyses(runId)).map((analysis) => [analysis.analysisId, canonicalJson(analysis)]));
  let copied = 0;
  for (const analysis of analyses) {
    if (held.get(analysis.analysisId) === canonicalJson(analysis)) continue;
    await target.saveRunAnalysis(analysis);
    copied++;
  }
  return { inSource: analyses.length, copied };
}

/**
 * Appends the source's entries the target lacks, sealed as they are, in batches of one
 * transaction each; each correction row goes with the first entry that vouches for it.
 */
async function copyAudit(
  target: Store,
  sourceAudit: readonly AuditRecord[],
  held: number,
  sourceLedger: readonly DecisionRecord[],
  signal: AbortSignal | undefined,
  onBatch: (copied: number) => void,
): Promise<number> {
  const corrections = new Map(sourceLedger.filter((row) => row.supersedes !== null).map((row) => [row.decisionId, row]));
  let copied = 0;
  for (let start = held; start < sourceAudit.length; start += AUDIT_ENTRIES_PER_IMPORT) {
    signal?.throwIfAborted();
    const batch = sourceAudit.slice(start, start + AUDIT_ENTRIES_PER_IMPORT);
    const rows = batch.flatMap((entry) => {
      const id = vouchedCorrectionId(entry);
      const row = id === undefined ? undefined : corrections.get(id);
      if (row === undefined) return [];
      corrections.delete(row.decisionId);
      return [row];
    });
    copied += await target.campaigns.importAudit(batch, rows);
    onBatch(copied);
  }
  return copied;
}

interface CopiedContent {
  runIds: readonly string[];
  ledger: readonly DecisionRecord[];
  campaigns: readonly CampaignContent[];
  sourceAudit: readonly AuditRecord[];
}

/**
 * Verifies the copied runs in the target as `retrial verify` does (chains, seals, blobs, rows, the
 * ledger against events and the audit log), then compares what the target holds with the source:
 * each run's chain values, every ledger row, each campaign's digest, the audit log entry by entry.
 */
async function verifyCopy(
  source: Store,
  target: Store,
  copied: CopiedContent,
  concurrency: number,
  signal: AbortSignal | undefined,
  onRun: (verified: number) => void,
): Promise<CopyVerification> {
  const verification: CopyVerification = { ok: false, runs: 0, events: 0, blobsChecked: 0, decisionsChecked: 0, problems: [], differences: [] };
  const context = createVerifyContext(target);
  // Kept by position, so problems come out in the source's run order however the checks interleave.
  const perRun: Array<{ problems: VerifyProblem[]; differs: boolean }> = [];
  onRun(0);
  await forEachConcurrently(copied.runIds, concurrency, signal, async (runId, index) => {
    const [run, sourceRun, copiedRun] = await Promise.all([verifyRun(target, runId, context), source.getRunOrThrow(runId), target.getRun(runId)]);
    perRun[index] = { problems: run.problems, differs: copiedRun === undefined || runIdentity(copiedRun) !== runIdentity(sourceRun) };
    verification.runs++;
    verification.events += run.events;
    verification.decisionsChecked += run.decisionsChecked;
    onRun(verification.runs);
  });
  // Runs checked at once may each check a blob they share: count each blob once, as verify does.
  verification.blobsChecked = context.checkedBlobs.size;
  perRun.forEach(({ problems, differs }, index) => {
    const runId = copied.runIds[index] as string;
    if (differs) verification.differences.push(`run ${runId} differs from the source's`);
    for (const problem of problems) verification.problems.push({ ...problem, runId });
  });
  // The target's whole audit chain and its corrections (the copy's among them), as verify checks them.
  const ledger = await verifyLedger(target, context.vouchers);
  for (const problem of ledger.problems) verification.problems.push(problem);

  const held = new Map((await target.listDecisions({ includeSuperseded: true })).map((row) => [row.decisionId, canonicalJson(row)]));
  for (const row of copied.ledger) {
    const theirs = held.get(row.decisionId);
    if (theirs === undefined) verification.differences.push(`ledger row ${row.decisionId} is missing from the target`);
    else if (theirs !== canonicalJson(row)) verification.differences.push(`ledger row ${row.decisionId} differs from the source's`);
  }
  for (const content of copied.campaigns) {
    const campaign = await target.campaigns.get(content.campaign.campaignId);
    const theirs = campaign === undefined ? undefined : campaignDigest(await readCampaignContent(target.campaigns, campaign));
    if (theirs !== campaignDigest(content)) verification.differences.push(`campaign ${content.campaign.campaignId} differs from the source's`);
  }
  const targetAudit = await target.campaigns.audit();
  const differs = copied.sourceAudit.findIndex((entry, index) => targetAudit[index]?.hash !== entry.hash);
  if (differs >= 0) verification.differences.push(`audit entry ${differs + 1} differs from the source's, or is missing`);
  verification.ok = verification.problems.length === 0 && verification.differences.length === 0;
  return verification;
}

/**
 * Runs `body` on each item, at most `concurrency` at once, in the items' order of start. The first
 * failure (or the signal) stops more from starting; it is thrown once the ones under way settle,
 * so nothing is still writing when the caller closes the stores.
 */
async function forEachConcurrently<Item>(
  items: readonly Item[],
  concurrency: number,
  signal: AbortSignal | undefined,
  body: (item: Item, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let stopped = false;
  const worker = async () => {
    try {
      while (!stopped && next < items.length) {
        // An embedded store answers synchronously, so the awaits below never leave the microtask
        // queue: without this turn of the event loop a signal (Ctrl-C) would wait for the whole
        // copy, and so would the packing a SQLite target does on its thread pool.
        await new Promise((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
        // Taken after the turn: another worker may have taken the last item meanwhile.
        if (stopped || next >= items.length) break;
        const index = next++;
        await body(items[index] as Item, index);
      }
    } catch (error) {
      stopped = true;
      throw error;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
}
