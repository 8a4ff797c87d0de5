import { fileURLToPath } from 'node:url';
import {
  applyTriage,
  type CampaignComparison,
  campaignEndpoints,
  loadTriagePolicy,
  planCampaign,
  runCampaign,
  writeCampaignReport,
} from '../backfill/index.ts';
import { originals } from '../record/index.ts';
import { type ExplainResult, explainRun, type ReplayResult, type ResampleResult, replayRun, resampleStep } from '../replay/index.ts';
import type { Store, StoreStats } from '../store/index.ts';
import { createDemoAccountsNow, DEMO_NOW_ALIASES } from './demo-now.ts';
import { recordDemoHistory } from './record-demo-history.ts';
import { CANDIDATE_VERSION_ID, createSimulatedModel, createSimulatorFetch, startSimulatorServer } from './simulator/index.ts';
import supportAgent from './support-agent.ts';

export interface DemoOptions {
  store: Store;
  runs?: number;
  concurrency?: number;
  redactionSalt: string;
  /** Seed of the simulator's noise while the history is recorded. */
  historySeed?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface DemoSummary {
  runs: number;
  failedRuns: number;
  /** The first failed run's id and error, or null when every run recorded. */
  firstFailure: { runId: string; message: string } | null;
  window: { from: string; to: string };
  incident: {
    runId: string;
    ticketId: string;
    at: string;
    /** What the agent decided for the incident ticket. */
    decision: string | null;
    /** Step of the model call that chose the action. */
    decisionStep: number | null;
  };
  stats: StoreStats;
  /** What an on-call engineer would do next, run for them. */
  investigation: {
    /** Reproducing the incident from its tape with the agent's own code. */
    replay: ReplayResult;
    /** The incident's decision step resampled 200 times at temperature 0, today. */
    resample: ResampleResult | null;
    /** Why it "works now": recorded vs now, one factor switched at a time. */
    explain: ExplainResult;
  };
  /** The 90 days of refund decisions re-tried through the candidate model. */
  backfill: DemoBackfill;
  elapsedMs: number;
}

export interface DemoBackfill {
  campaignId: string;
  comparison: Omit<CampaignComparison, 'flips' | 'plan'> & {
    plan: Pick<CampaignComparison['plan'], 'population' | 'eligible' | 'selected' | 'excluded' | 'candidate'>;
  };
  triage: Record<string, number>;
  reportPath: string;
  durationMs: number;
}

/** The triage policy the demo applies: the example shipped with retrial. */
export const DEMO_TRIAGE_POLICY = fileURLToPath(new URL('../../examples/triage-policy.yaml', import.meta.url));

/**
 * The backfill the demo ends with: every refund decision of the window re-decided by the candidate
 * version on its recorded inputs, the incumbent re-run on 500 of them for its noise floor, triaged
 * under the example policy, and reported next to the store.
 */
async function backfillRefunds(store: Store, window: { startAt: number; endAt: number }): Promise<DemoBackfill> {
  const started = performance.now();
  const planned = await planCampaign({
    store,
    decisionType: 'refund.category',
    since: window.startAt,
    until: window.endAt + 1,
    candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
    actor: 'retrial-demo',
    now: originals.dateNow(),
  });
  const model = createSimulatedModel({ seed: originals.randomBytes(8).toString('hex') });
  await runCampaign({
    store,
    campaignId: planned.campaignId,
    endpointFor: campaignEndpoints(planned.plan, { simulator: { baseUrl: 'http://simulator.in-process/v1', fetch: createSimulatorFetch(model) } }),
    concurrency: 16,
    actor: 'retrial-demo',
  });
  const triage = await applyTriage({
    store,
    campaignId: planned.campaignId,
    policy: await loadTriagePolicy(DEMO_TRIAGE_POLICY),
    actor: 'retrial-demo',
    now: originals.dateNow(),
  });
  const report = await writeCampaignReport(store, planned.campaignId);
  const { flips: _flips, plan, ...comparison } = report.comparison;
  return {
    campaignId: planned.campaignId,
    comparison: {
      ...comparison,
      plan: { population: plan.population, eligible: plan.eligible, selected: plan.selected, excluded: plan.excluded, candidate: plan.candidate },
    },
    triage: triage.byAction,
    reportPath: report.markdownPath,
    durationMs: performance.now() - started,
  };
}

/**
 * Seed of the simulator while the history is recorded. The bad branch at the 02:14 incident has a
 * true probability of 3.5%; this seed was found by trying seeds in order until that sample came up
 * `close_account` (the 38th did), so every demo tells the same story. Nothing else is staged.
 */
export const DEMO_HISTORY_SEED = 'retrial-demo-history-38';

/**
 * The demo, as a library call: starts the model simulator in this process, records 90 days of
 * support tickets through the real `openai` client and recorder, investigates the incident
 * (replay, resample, explain), backfills the refund decisions through the candidate version, and
 * summarises it all.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const started = performance.now();
  const simulator = await startSimulatorServer({ port: 0, seed: options.historySeed ?? DEMO_HISTORY_SEED });
  try {
    const history = await recordDemoHistory({
      store: options.store,
      modelBaseUrl: `${simulator.url}/v1`,
      runs: options.runs,
      concurrency: options.concurrency,
      redactionSalt: options.redactionSalt,
      onProgress: options.onProgress,
    });
    const decisions = await options.store.listDecisions({ runId: history.incidentRunId });
    const incidentDecision = decisions.find((decision) => decision.type === 'account.action');
    const incidentScheduled = history.world.tickets.find((scheduled) => scheduled.ticket.ticketId === history.world.incidentTicketId);
    const decisionEvent = incidentDecision ? JSON.parse((await options.store.getEvents(history.incidentRunId))[incidentDecision.seq]?.json ?? '{}') : null;
    const replay = await replayRun({ store: options.store, runId: history.incidentRunId, agent: supportAgent as never, redactionSalt: options.redactionSalt });
    // Fresh sampling noise, as a live endpoint has: the history's seed only fixed what happened then.
    const live = await startSimulatorServer({ port: 0, seed: originals.randomBytes(8).toString('hex') });
    let resample: ResampleResult | null = null;
    try {
      if (decisionEvent?.basedOnSeq !== undefined && decisionEvent.basedOnSeq !== null) {
        resample = await resampleStep({
          store: options.store,
          runId: history.incidentRunId,
          step: decisionEvent.basedOnSeq,
          n: 200,
          target: null,
          baseUrl: `${live.url}/v1`,
          apiKey: 'sim',
          hypothesis: 'close_account',
        });
      }
    } finally {
      await live.close();
    }
    // The world now: the alias has moved on and the customer has paid.
    const now = await startSimulatorServer({ port: 0, seed: originals.randomBytes(8).toString('hex'), aliases: DEMO_NOW_ALIASES });
    let explain: ExplainResult;
    try {
      explain = await explainRun({
        store: options.store,
        runId: history.incidentRunId,
        agent: supportAgent as never,
        redactionSalt: options.redactionSalt,
        endpoint: { baseUrl: `${now.url}/v1`, apiKey: 'sim' },
        servicesNow: createDemoAccountsNow(),
        repetitions: 2000,
      });
    } finally {
      await now.close();
    }
    const backfill = await backfillRefunds(options.store, history.world);
    return {
      runs: history.runIds.length,
      failedRuns: history.failedRuns,
      firstFailure: history.firstFailure,
      window: { from: new Date(history.world.startAt).toISOString(), to: new Date(history.world.endAt).toISOString() },
      incident: {
        runId: history.incidentRunId,
        ticketId: history.world.incidentTicketId,
        at: new Date(incidentScheduled?.at ?? 0).toISOString(),
        decision: incidentDecision?.value ?? null,
        decisionStep: decisionEvent?.basedOnSeq ?? null,
      },
      stats: await options.store.stats(),
      investigation: { replay, resample, explain },
      backfill,
      elapsedMs: performance.now() - started,
    };
  } finally {
    await simulator.close();
  }
}
