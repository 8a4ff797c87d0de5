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
  const worker = async () => {
    while (next < world.tickets.length) {
      const index = next++;
      const scheduled = world.tickets[index];
      if (!scheduled) break;
      const runId = `run_${scheduled.ticket.ticketId.toLowerCase()}_${scheduled.at.toString(36)}`;
      runIds[index] = runId;
      if (scheduled.ticket.ticketId === world.incidentTicketId) incidentRunId = runId;
      try {
        await rec.run(scheduled.ticket, handle, {
          runId,
          startAt: scheduled.at,
          seed: runId,
          externalIds: { ticket: scheduled.ticket.ticketId, customer: scheduled.ticket.customerId },
        });
      } catch {
        failedRuns++;
      }
      done++;
      options.onProgress?.(done, world.tickets.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  await rec.flush();
  return { world, runIds, incidentRunId, failedRuns, writesExecuted: { ...accounts.writes } };
}
