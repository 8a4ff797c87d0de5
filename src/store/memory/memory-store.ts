import type { RunRecord, StoredBlob } from '../../tape/index.ts';
import type { CampaignStore } from '../campaign-store.ts';
import { RunNotFoundError, StoreError } from '../errors.ts';
import { collectRunBlobRefs } from '../run-blob-refs.ts';
import { suggestRunIds } from '../run-id-suggestions.ts';
import type {
  CountOptions,
  DecisionFilter,
  DecisionRecord,
  RunAnalysis,
  RunBundle,
  RunFilter,
  RunSummary,
  RunWriter,
  Store,
  StoredEvent,
  StoredTape,
  StoreStats,
  WriteBatch,
} from '../store.ts';
import { checkBundle } from '../write-batch-checks.ts';
import { isWriterAliveOnThisHost } from '../writer-liveness.ts';
import { createMemoryCampaignStore } from './memory-campaigns.ts';
import { compareDecisions, compareText, matchesDecisionFilter, matchesRunFilter, page } from './memory-filters.ts';
import { copyBlob, copyDecision, type MemoryRun, type MemoryTables } from './memory-run.ts';
import { commitStaged, stageRunImport, stageWriteBatch } from './memory-write.ts';

/**
 * A store in plain Maps, for unit tests and throwaway sessions (`--db :memory:`). It behaves like
 * the SQL backends down to ordering and refusals; the shared conformance suite checks that.
 */
export function createMemoryStore(): Store {
  return new MemoryStore();
}

class MemoryStore implements Store {
  readonly location = ':memory:';
  readonly capabilities = { supportsSkipLocked: false, multiProcessWriters: false };
  private readonly tables: MemoryTables = { runs: new Map(), events: new Map(), blobs: new Map(), decisions: new Map() };
  private closed = false;
  readonly campaigns: CampaignStore = createMemoryCampaignStore(this.tables.decisions, () => this.assertOpen());

  async write(batch: WriteBatch): Promise<void> {
    this.assertOpen();
    commitStaged(this.tables, stageWriteBatch(this.tables, batch));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const run = this.tables.runs.get(runId);
    return run === undefined ? undefined : structuredClone(run.record);
  }

  async getRunOrThrow(runId: string): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (run === undefined) throw new RunNotFoundError({ runId, suggestions: await suggestRunIds(runId, (prefix, limit) => this.findRunIds(prefix, limit)) });
    return run;
  }

  async findRunIds(prefix: string, limit = 10): Promise<string[]> {
    this.assertOpen();
    return [...this.tables.runs.keys()]
      .filter((runId) => runId.startsWith(prefix))
      .sort(compareText)
      .slice(0, limit);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunSummary[]> {
    const decisionsByRun = this.decisionsByRun();
    return page(this.matchingRuns(filter, decisionsByRun), filter).map((run) => ({
      runId: run.record.header.runId,
      agent: run.record.header.agent,
      status: run.record.status,
      recordedAt: run.recordedAtMs,
      eventCount: run.record.eventCount,
      externalIds: { ...run.record.header.externalIds },
      modelsServed: [...run.modelsServed],
      decisions: (decisionsByRun.get(run.record.header.runId) ?? []).map(({ type, value }) => ({ type, value })),
      parentRunId: run.record.header.fork?.fromRun ?? null,
    }));
  }

  async countRuns(filter: RunFilter = {}, options: CountOptions = {}): Promise<number> {
    const count = this.matchingRuns(filter, this.decisionsByRun()).length;
    return options.upTo === undefined ? count : Math.min(count, options.upTo);
  }

  async getEvents(runId: string): Promise<StoredEvent[]> {
    this.assertOpen();
    return (this.tables.events.get(runId) ?? []).map((event) => ({ ...event }));
  }

  async getTape(runId: string): Promise<StoredTape> {
    const run = await this.getRunOrThrow(runId);
    const modelsServed = [...(this.tables.runs.get(runId)?.modelsServed ?? [])];
    // Blobs are one map for all runs here: nothing is kept next to a run, so loadTape asks getBlobs.
    return { run, eventTexts: (this.tables.events.get(runId) ?? []).map((event) => event.json), blobs: new Map(), modelsServed };
  }

  async getBlobs(hashes: readonly string[]): Promise<Map<string, StoredBlob>> {
    this.assertOpen();
    const found = new Map<string, StoredBlob>();
    for (const hash of hashes) {
      const blob = this.tables.blobs.get(hash);
      if (blob !== undefined) found.set(hash, copyBlob(blob));
    }
    return found;
  }

  async listDecisions(filter: DecisionFilter = {}): Promise<DecisionRecord[]> {
    this.assertOpen();
    const all = [...this.tables.decisions.values()];
    const superseded = new Set(all.flatMap((decision) => decision.supersedes ?? []));
    const matching = all.filter((decision) => matchesDecisionFilter(decision, superseded, filter)).sort(compareDecisions);
    return page(matching, filter).map(copyDecision);
  }

  async listRunIds(): Promise<string[]> {
    this.assertOpen();
    return [...this.tables.runs.values()].sort(compareRunsAscending).map((run) => run.record.header.runId);
  }

  async markAbandonedRuns(isWriterAlive: (writer: RunWriter) => boolean = isWriterAliveOnThisHost): Promise<string[]> {
    this.assertOpen();
    const marked: string[] = [];
    for (const run of this.tables.runs.values()) {
      if (run.record.status !== 'recording') continue;
      // A run without a writer came in through import: nobody in this store will ever finish it.
      if (run.writer !== null && isWriterAlive({ ...run.writer })) continue;
      run.record.status = 'incomplete';
      marked.push(run.record.header.runId);
    }
    return marked;
  }

  async getRunBundle(runId: string): Promise<RunBundle> {
    const run = await this.getRunOrThrow(runId);
    const events = await this.getEvents(runId);
    const refs = collectRunBlobRefs(run, events, (hash) => this.tables.blobs.get(hash));
    const blobs = refs.flatMap((hash) => {
      const blob = this.tables.blobs.get(hash);
      return blob === undefined ? [] : [copyBlob(blob)];
    });
    const decisions = [...this.tables.decisions.values()]
      .filter((decision) => decision.runId === runId)
      .sort((left, right) => left.seq - right.seq || compareText(left.decisionId, right.decisionId))
      .map(copyDecision);
    const modelsServed = [...(this.tables.runs.get(runId) as MemoryRun).modelsServed];
    return { run, events, blobs, decisions, modelsServed };
  }

  async importRunBundle(bundle: RunBundle): Promise<'imported' | 'exists'> {
    this.assertOpen();
    checkBundle(bundle);
    if (this.tables.runs.has(bundle.run.header.runId)) return 'exists';
    commitStaged(this.tables, stageRunImport(this.tables, bundle));
    return 'imported';
  }

  private readonly analyses = new Map<string, RunAnalysis>();

  async saveRunAnalysis(analysis: RunAnalysis): Promise<void> {
    this.assertOpen();
    this.analyses.set(analysis.analysisId, structuredClone(analysis));
  }

  async listRunAnalyses(runId: string, kind?: string): Promise<RunAnalysis[]> {
    this.assertOpen();
    return [...this.analyses.values()]
      .filter((analysis) => analysis.runId === runId && (kind === undefined || analysis.kind === kind))
      .sort((a, b) => a.createdAt - b.createdAt || a.analysisId.localeCompare(b.analysisId))
      .map((analysis) => structuredClone(analysis));
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    const runs = [...this.tables.runs.values()];
    const blobs = [...this.tables.blobs.values()];
    const runsByStatus: Record<string, number> = {};
    for (const run of runs) runsByStatus[run.record.status] = (runsByStatus[run.record.status] ?? 0) + 1;
    const decisionCounts = new Map<string, { type: string; value: string; count: number }>();
    for (const { type, value } of this.tables.decisions.values()) {
      const key = JSON.stringify([type, value]);
      const entry = decisionCounts.get(key) ?? { type, value, count: 0 };
      entry.count++;
      decisionCounts.set(key, entry);
    }
    return {
      runs: runs.length,
      runsByStatus,
      events: runs.reduce((total, run) => total + run.record.eventCount, 0),
      blobs: blobs.length,
      blobBytesRaw: blobs.reduce((total, blob) => total + blob.size, 0),
      eventBytesRaw: runs.reduce((total, run) => total + run.eventBytes, 0),
      contentBytesStored: blobs.reduce((total, blob) => total + blob.data.byteLength, 0) + runs.reduce((total, run) => total + run.eventBytes, 0),
      fileBytes: null,
      decisions: [...decisionCounts.values()].sort((left, right) => compareText(left.type, right.type) || compareText(left.value, right.value)),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private matchingRuns(filter: RunFilter, decisionsByRun: Map<string, DecisionRecord[]>): MemoryRun[] {
    this.assertOpen();
    const matching = [...this.tables.runs.values()].filter((run) => matchesRunFilter(run, decisionsByRun.get(run.record.header.runId) ?? [], filter));
    matching.sort(compareRunsAscending);
    if (filter.order !== 'asc') matching.reverse();
    return matching;
  }

  /** Each run's decisions in seq order. */
  private decisionsByRun(): Map<string, DecisionRecord[]> {
    const byRun = new Map<string, DecisionRecord[]>();
    for (const decision of this.tables.decisions.values()) {
      const list = byRun.get(decision.runId);
      if (list === undefined) byRun.set(decision.runId, [decision]);
      else list.push(decision);
    }
    for (const list of byRun.values()) list.sort((left, right) => left.seq - right.seq);
    return byRun;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError({ message: 'Cannot use the memory store: it has been closed.' });
  }
}

/** recordedAt, then run id: the order the SQL backends use. */
function compareRunsAscending(left: MemoryRun, right: MemoryRun): number {
  return left.recordedAtMs - right.recordedAtMs || compareText(left.record.header.runId, right.record.header.runId);
}
