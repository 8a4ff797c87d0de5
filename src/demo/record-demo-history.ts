import { createRecorder } from '../record/index.ts';
import type { Store } from '../store/index.ts';
import { createAccountSystem } from './account-system.ts';
import { createDemoWorld, type DemoWorld } from './demo-world.ts';
import supportAgent from './support-agent.ts';

export interface RecordHistoryOptions {
  store: Store;
  /** Base URL of an OpenAI-compatible endpoint (the simulator), ending in /v1. */
  modelBaseUrl: string;
  runs?: number;
  /** End of the 90-day window, ms; default now. */
  endAt?: number;
  concurrency?: number;
  /** Salt of redaction hashes; keep it out of the store. */
  redactionSalt: string;
  onProgress?: (done: number, total: number) => void;
}

export interface RecordedHistory {
  world: DemoWorld;
  runIds: string[];
  incidentRunId: string;
  failedRuns: number;
  /** The first failed run's id and error message, or null when none failed. */
  firstFailure: { runId: string; message: string } | null;
  writesExecuted: Record<string, number>;
}

/**
 * Records the demo's 90 days of support tickets through the real recorder: each ticket is one
 * run whose clock starts at the ticket's simulated arrival time.
 */
export async function recordDemoHistory(options: RecordHistoryOptions): Promise<RecordedHistory> {
  const world = createDemoWorld({ runs: options.runs ?? 2000, endAt: options.endAt ?? Date.now() });
  const accounts = createAccountSystem(world.tickets.map((scheduled) => scheduled.account));
  const rec = createRecorder({
    store: options.store,
    agent: supportAgent.name,
    codeVersion: supportAgent.codeVersion,
    redaction: { salt: options.redactionSalt, rules: supportAgent.piiRules },
  });
  const env = { RETRIAL_MODEL_BASE_URL: options.modelBaseUrl, RETRIAL_SIM_API_KEY: process.env.RETRIAL_SIM_API_KEY };
  const handle = supportAgent.create({ rec, env, services: accounts });
  const runIds: string[] = new Array(world.tickets.length);
  let next = 0;
  let done = 0;
  let failedRuns = 0;
  let incidentRunId = '';
  let firstFailure: RecordedHistory['firstFailure'] = null;
  const worker = async () => {
    while (next < world.tickets.length) {
      const index = next++;
      const scheduled = world.tickets[index];
      if (!scheduled) break;
      // A demo added to a store that holds an earlier one (--keep) has the same tickets at the same
      // times of day: a taken id gets a numbered suffix instead of colliding with the earlier run.
      const base = `run_${scheduled.ticket.ticketId.toLowerCase()}_${scheduled.at.toString(36)}`;
      let runId = base;
      for (let copy = 2; (await options.store.getRun(runId)) !== undefined; copy++) runId = `${base}_${copy}`;
      runIds[index] = runId;
      if (scheduled.ticket.ticketId === world.incidentTicketId) incidentRunId = runId;
      try {
        await rec.run(scheduled.ticket, handle, {
          runId,
          startAt: scheduled.at,
          seed: runId,
          externalIds: { ticket: scheduled.ticket.ticketId, customer: scheduled.ticket.customerId },
        });
      } catch (error) {
        failedRuns++;
        firstFailure ??= { runId, message: error instanceof Error ? error.message : String(error) };
      }
      done++;
      options.onProgress?.(done, world.tickets.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  await rec.flush();
  return { world, runIds, incidentRunId, failedRuns, firstFailure, writesExecuted: { ...accounts.writes } };
}
