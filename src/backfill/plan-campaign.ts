import { readWireRequestTexts } from '../inspect/index.ts';
import { detectWireFormatFromText } from '../providers/index.ts';
import { classifyResponse, costOf, DEFAULT_PRICE_TABLE, type ModelTarget, type PriceTable } from '../replay/index.ts';
import {
  type CampaignItemRecord,
  type DecisionRecord,
  deriveLedgerRows,
  eventLinksProblem,
  type Store,
  type StoredEvent,
  unvouchedReason,
} from '../store/index.ts';
import { type ModelEvent, parseEvent, RetrialError, type RunRecord, sha256Hex } from '../tape/index.ts';
import { type CampaignItem, type CampaignPlan, EXCLUSION_REASONS, type ExclusionReason, type RedecideMode } from './campaign-types.ts';
import { compactItem, sharedItemFields } from './compact-items.ts';

export interface PlanCampaignOptions {
  store: Store;
  decisionType: string;
  /** Window on effective time, ms since epoch [since, until). */
  since: number;
  until: number;
  candidate: ModelTarget;
  /** `step` (default) or `run`: fork the whole run with the agent's code (needs `agentModule`). */
  redecide?: RedecideMode;
  /** Path of the agent module, for `run` mode. */
  agentModule?: string | null;
  /** Incumbent provider and optionally a pinned model; default the candidate's provider and each step's served version. */
  incumbent?: { provider: ModelTarget['provider']; model: string | null };
  /** Tool -> value; default inferred from the recorded answers of the eligible decisions. */
  mapping?: Record<string, string>;
  /** Re-decide a random sample of this size instead of every eligible decision. */
  sample?: number;
  /** Attribute (or `value`) whose strata the sample keeps in proportion. */
  stratifyBy?: string | null;
  /** How many selected decisions the incumbent re-decides to measure its own noise (default min(selected, 500)). */
  noiseFloor?: number;
  /** Attribute the report breaks flips down by (default `plan`). */
  segmentBy?: string;
  chunkSize?: number;
  /** Decisions read from the ledger and checked at once (default PLAN_PAGE_SIZE); memory grows with it, not with the window. */
  pageSize?: number;
  prices?: PriceTable;
  pricesName?: string;
  /** Seed of sample selection; default derived from the campaign id. */
  seed?: string;
  actor: string;
  /** Wall clock, ms. */
  now: number;
}

export interface PlannedCampaign {
  campaignId: string;
  plan: CampaignPlan;
}

/**
 * A decision whose step was found, as planning keeps it while it reads the rest: the item it
 * would become and the tool its recorded answer chose. The parsed model event is not kept (its
 * response and request held about 5 KB each: 44,550 of them were most of a 550 MiB plan).
 */
interface Candidate {
  item: CampaignItem;
  tool: string;
}

/** What became of each decision that had a step, in population order: an item, or why not. */
type CandidateOutcome = Candidate | { excluded: ExclusionReason; decisionId: string };

/**
 * Decisions are read from the ledger this many at a time, and the wire requests of a page's
 * candidates are read and checked before the next page, so a plan holds one page of request
 * texts and blobs at once, whatever the window's size.
 */
export const PLAN_PAGE_SIZE = 1000;

/** A run's event rows by seq, with their kinds. */
type RunEvents = Map<number, { kind: string; json: string }>;

/** A run as planning reads it: its events, and what its chain vouches for (nothing when the chain is broken). */
interface PlannedRun {
  run: RunRecord;
  rows: StoredEvent[];
  events: RunEvents;
  /** The ledger rows the run's decision events vouch for, by decision id. */
  ledger: ReadonlyMap<string, DecisionRecord>;
}

/** Ids sort by creation time; the suffix keeps two plans in one millisecond apart. */
function newCampaignId(now: number): string {
  return `bf_${now.toString(36)}${sha256Hex(`${now}\n${Math.random()}`).slice(0, 6)}`;
}

/** Deterministic pseudo-random order: by sha256(seed, id). Sampling by it needs no RNG state. */
function hashOrder<T>(values: readonly T[], seed: string, id: (value: T) => string): T[] {
  const keyed = values.map((value) => ({ value, key: sha256Hex(`${seed}\n${id(value)}`) }));
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((entry) => entry.value);
}

/** Proportional allocation by largest remainder, then a hash-ordered draw within each stratum. */
function stratifiedSample<T>(values: readonly T[], size: number, seed: string, id: (value: T) => string, stratum: (value: T) => string): T[] {
  const strata = new Map<string, T[]>();
  for (const value of values) {
    const members = strata.get(stratum(value)) ?? [];
    members.push(value);
    strata.set(stratum(value), members);
  }
  const shares = [...strata].map(([name, members]) => ({ name, members, exact: (size * members.length) / values.length }));
  let left = size - shares.reduce((sum, share) => sum + Math.floor(share.exact), 0);
  const takes = new Map(shares.map((share) => [share.name, Math.floor(share.exact)]));
  for (const share of [...shares].sort((a, b) => b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || a.name.localeCompare(b.name))) {
    if (left <= 0) break;
    takes.set(share.name, (takes.get(share.name) ?? 0) + 1);
    left--;
  }
  return shares.flatMap((share) => hashOrder(share.members, seed, id).slice(0, takes.get(share.name) ?? 0));
}

/**
 * Reads the model event a decision was based on, or why it cannot be used. A decision whose row is
 * not what its run's chain says is never re-decided, whatever else is true of it.
 */
async function decisionStep(decision: DecisionRecord, runOf: (runId: string) => Promise<PlannedRun | undefined>) {
  if (decision.supersedes !== null) return { excluded: 'correction' as const };
  const planned = await runOf(decision.runId);
  if (planned === undefined || unvouchedReason(planned.ledger, decision) !== null) return { excluded: 'ledger-mismatch' as const };
  const { events } = planned;
  const decisionJson = events.get(decision.seq)?.json;
  const decisionEvent = decisionJson === undefined ? undefined : parseEvent(JSON.parse(decisionJson));
  const basedOnSeq = decisionEvent?.ok && decisionEvent.event?.kind === 'decision' ? decisionEvent.event.basedOnSeq : null;
  // The row says what its event says; the event and the step it names must be the chain's.
  if (eventLinksProblem(planned.run, planned.rows, [decision.seq, basedOnSeq]) !== null) return { excluded: 'ledger-mismatch' as const };
  if (planned.run.status !== 'complete') return { excluded: 'incomplete-tape' as const };
  if (basedOnSeq === null) return { excluded: 'no-decision-step' as const };
  const stepJson = events.get(basedOnSeq)?.json;
  const parsed = stepJson === undefined ? undefined : parseEvent(JSON.parse(stepJson));
  if (!parsed?.ok || parsed.event?.kind !== 'model' || parsed.event.response === null) return { excluded: 'step-missing' as const };
  const firstModelSeq = Math.min(...[...events].filter(([, row]) => row.kind === 'model').map(([seq]) => seq));
  return { step: parsed.event, firstModelSeq };
}

/** The values a tool led to in the recorded answers; a tool that led to two values is ambiguous and left out. */
function inferMapping(seen: ReadonlyMap<string, ReadonlySet<string>>): Record<string, string> {
  return Object.fromEntries([...seen].filter(([, values]) => values.size === 1).map(([tool, values]) => [tool, [...values][0] as string]));
}

/** The campaign item of a decision re-decided from `step`. */
function itemOf(decision: DecisionRecord, step: ModelEvent, firstModelSeq: number): CampaignItem {
  return {
    decisionId: decision.decisionId,
    runId: decision.runId,
    seq: decision.seq,
    agent: decision.agent,
    subject: decision.subject,
    value: decision.value,
    amount: decision.amount,
    currency: decision.currency,
    reversible: decision.reversible,
    effectiveAt: decision.effectiveAt,
    attributes: decision.attributes,
    stepSeq: step.seq,
    format: step.provider,
    url: step.wire.url,
    modelRequested: step.request.model,
    modelServed: step.response?.model.served ?? null,
    requestBody: step.wire.requestBody,
    firstModelSeq,
    usage: { input: step.response?.usage.inputTokens ?? 0, output: step.response?.usage.outputTokens ?? 0 },
  };
}

/**
 * Selects the decisions of a type in a window, decides which can be re-decided on their
 * point-in-time inputs (and names why the rest cannot), samples, estimates cost, and stores the
 * campaign with its items in chunks. Nothing is sent to a model.
 */
export async function planCampaign(options: PlanCampaignOptions): Promise<PlannedCampaign> {
  const { store } = options;
  const campaignId = newCampaignId(options.now);
  const seed = options.seed ?? campaignId;
  const window = { type: options.decisionType, since: options.since, until: options.until };
  // Ids only: the in-force decisions themselves are read page by page below.
  const inForce = new Set((await store.listDecisions(window)).map((decision) => decision.decisionId));
  const excluded = new Map<ExclusionReason, string[]>();
  const exclude = (reason: ExclusionReason, decisionId: string) => {
    const ids = excluded.get(reason) ?? [];
    ids.push(decisionId);
    excluded.set(reason, ids);
  };
  const redecide = options.redecide ?? 'step';
  if (redecide === 'run' && !options.agentModule)
    throw new RetrialError({ code: 'USAGE', message: 'Re-deciding whole runs (--redecide run) forks them with the agent’s own code: pass --agent <module>.' });

  // One run at a time: decisions come in valid-time order, and a run's decisions sit together.
  let cached: { runId: string; planned: PlannedRun | undefined } | undefined;
  const runOf = async (runId: string) => {
    if (cached?.runId !== runId) {
      let planned: PlannedRun | undefined;
      try {
        const run = await store.getRun(runId);
        const rows = run === undefined ? [] : await store.getEvents(runId);
        planned = run && {
          run,
          rows,
          events: new Map(rows.map((row) => [row.seq, { kind: row.kind, json: row.json }])),
          ledger: deriveLedgerRows(run.header, rows),
        };
      } catch (error) {
        // A damaged run (a header that is not JSON) vouches for nothing; it is excluded, not the whole plan.
        if (!RetrialError.isInstance(error) || error.code !== 'STORE') throw error;
      }
      cached = { runId, planned };
    }
    return cached.planned;
  };

  // Every candidate's tool and value, for the inferred mapping, and each one's outcome in order.
  const answers = new Map<string, Set<string>>();
  const outcomes: CandidateOutcome[] = [];
  let population = 0;
  const pageSize = Math.max(1, options.pageSize ?? PLAN_PAGE_SIZE);
  // Pages by effective time, not by a growing offset (which re-read every earlier row for each
  // page): the next page starts at the last one's time, skipping the decisions of that very
  // millisecond already read (the ledger's order within one is fixed: run, seq, id).
  let cursor = options.since;
  let readAtCursor = 0;
  for (;;) {
    const page = await store.listDecisions({ ...window, since: cursor, includeSuperseded: true, limit: pageSize, offset: readAtCursor });
    const last = page.at(-1)?.effectiveAt;
    if (last !== undefined && last !== cursor) {
      cursor = last;
      readAtCursor = 0;
    }
    readAtCursor += page.filter((decision) => decision.effectiveAt === cursor).length;
    population += page.length;
    const found: Candidate[] = [];
    for (const decision of page) {
      if (decision.supersedes === null && !inForce.has(decision.decisionId)) {
        exclude('superseded', decision.decisionId);
        continue;
      }
      const step = await decisionStep(decision, runOf);
      if (step.excluded !== undefined) exclude(step.excluded, decision.decisionId);
      else if (step.step?.response) {
        const tool = classifyResponse(step.step.response, null);
        answers.set(tool, (answers.get(tool) ?? new Set()).add(decision.value));
        found.push({ item: itemOf(decision, step.step, step.firstModelSeq), tool });
      }
    }
    // This page's request texts are read, checked and dropped before the next page is read.
    const texts = await readWireRequestTexts(
      store,
      found.map((candidate) => candidate.item.requestBody),
    );
    for (const candidate of found) {
      const { item } = candidate;
      const text = texts.get(item.requestBody);
      if (text === undefined) outcomes.push({ excluded: 'step-missing', decisionId: item.decisionId });
      else if (!detectWireFormatFromText(item.url, text)) outcomes.push({ excluded: 'unknown-wire-format', decisionId: item.decisionId });
      else if (text.includes('[redacted:')) outcomes.push({ excluded: 'redacted-input', decisionId: item.decisionId });
      else outcomes.push(candidate);
    }
    if (page.length < pageSize) break;
  }
  cached = undefined;

  const mapping = options.mapping ?? inferMapping(answers);
  const eligible: CampaignItem[] = [];
  for (const outcome of outcomes) {
    if ('excluded' in outcome) exclude(outcome.excluded, outcome.decisionId);
    // A forked run records its own decision, so only step mode needs the answer-to-value mapping.
    else if (redecide === 'step' && mapping[outcome.tool] !== outcome.item.value) exclude('unmapped-answer', outcome.item.decisionId);
    else eligible.push(outcome.item);
  }
  outcomes.length = 0;

  const stratifyBy = options.stratifyBy ?? null;
  const stratumOf = (item: CampaignItem) => (stratifyBy === 'value' ? item.value : (item.attributes[stratifyBy ?? ''] ?? '(none)'));
  if (options.sample !== undefined && (!Number.isInteger(options.sample) || options.sample < 1))
    throw new RetrialError({ code: 'USAGE', message: `--sample must be a whole number of decisions >= 1, got ${options.sample}.` });
  const sampling = options.sample !== undefined && options.sample < eligible.length;
  const selected = (
    sampling
      ? stratifyBy
        ? stratifiedSample(eligible, options.sample as number, seed, (item) => item.decisionId, stratumOf)
        : hashOrder(eligible, seed, (item) => item.decisionId).slice(0, options.sample)
      : [...eligible]
  ).sort((a, b) => a.effectiveAt - b.effectiveAt || a.decisionId.localeCompare(b.decisionId));
  const noiseFloorSize = Math.min(selected.length, options.noiseFloor ?? 500);
  const noiseFloorIds = new Set(
    hashOrder(selected, `${seed}\nnoise-floor`, (item) => item.decisionId)
      .slice(0, noiseFloorSize)
      .map((item) => item.decisionId),
  );

  const chunkSize = options.chunkSize ?? 64;
  const itemDefaults = sharedItemFields(selected);
  const items: CampaignItemRecord[] = selected.map((item, index) => ({
    campaignId,
    itemId: item.decisionId,
    chunk: Math.floor(index / chunkSize),
    arms: noiseFloorIds.has(item.decisionId) ? ['candidate', 'incumbent'] : ['candidate'],
    item: compactItem(item, itemDefaults),
  }));

  const prices = options.prices ?? DEFAULT_PRICE_TABLE;
  const incumbent = options.incumbent ?? { provider: options.candidate.provider, model: null };
  let inputTokens = 0;
  let outputTokens = 0;
  let costUsd: number | null = 0;
  for (const [index, record] of items.entries()) {
    const item = selected[index] as CampaignItem;
    for (const arm of record.arms) {
      inputTokens += item.usage.input;
      outputTokens += item.usage.output;
      const model = arm === 'candidate' ? options.candidate.model : (incumbent.model ?? item.modelServed ?? item.modelRequested);
      const cost = costOf(prices, model, item.usage.input, item.usage.output);
      costUsd = cost === null || costUsd === null ? null : costUsd + cost;
    }
  }

  const plan: CampaignPlan = {
    formatVersion: 1,
    decisionType: options.decisionType,
    window: { since: options.since, until: options.until },
    candidate: options.candidate,
    redecide,
    agentModule: options.agentModule ?? null,
    incumbent,
    mapping,
    population,
    eligible: eligible.length,
    excluded: [...excluded].map(([reason, ids]) => ({ reason, description: EXCLUSION_REASONS[reason], count: ids.length, examples: ids.slice(0, 3) })),
    selected: selected.length,
    sample: sampling ? { size: options.sample as number, stratifyBy, seed } : null,
    noiseFloor: noiseFloorSize,
    segmentBy: options.segmentBy ?? 'plan',
    chunkSize,
    chunks: Math.ceil(items.length / chunkSize),
    estimate: {
      requests: items.reduce((sum, item) => sum + item.arms.length, 0),
      inputTokens,
      outputTokens,
      costUsd,
      prices: options.pricesName ?? 'built-in',
    },
    createdBy: options.actor,
    itemDefaults,
  };
  await store.campaigns.create({ campaignId, createdAt: options.now, plan }, items, {
    at: options.now,
    actor: options.actor,
    action: 'campaign.created',
    campaignId,
    details: { decisionType: plan.decisionType, candidate: plan.candidate, population: plan.population, eligible: plan.eligible, selected: plan.selected },
  });
  return { campaignId, plan };
}
