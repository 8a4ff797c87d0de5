import type { Store, StoreStats } from '../store/index.ts';
import { recordDemoHistory } from './record-demo-history.ts';
import { startSimulatorServer } from './simulator/index.ts';

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
  elapsedMs: number;
}

/**
 * Seed of the simulator while the history is recorded. The bad branch at the 02:14 incident has a
 * true probability of 3.5%; this seed was found by trying seeds in order until that sample came up
 * `close_account` (the 38th did), so every demo tells the same story. Nothing else is staged.
 */
export const DEMO_HISTORY_SEED = 'retrial-demo-history-38';

/**
 * The demo, as a library call: starts the model simulator in this process, records 90 days of
 * support tickets through the real `openai` client and recorder, and summarises the store.
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
    return {
      runs: history.runIds.length,
      failedRuns: history.failedRuns,
      window: { from: new Date(history.world.startAt).toISOString(), to: new Date(history.world.endAt).toISOString() },
      incident: {
        runId: history.incidentRunId,
        ticketId: history.world.incidentTicketId,
        at: new Date(incidentScheduled?.at ?? 0).toISOString(),
        decision: incidentDecision?.value ?? null,
        decisionStep: decisionEvent?.basedOnSeq ?? null,
      },
      stats: await options.store.stats(),
      elapsedMs: performance.now() - started,
    };
  } finally {
    await simulator.close();
  }
}
