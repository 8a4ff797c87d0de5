import { loadTape } from '../inspect/index.ts';
import type { AgentDefinition } from '../record/index.ts';
import { EndpointError, forkRun, isEndpointFailure, unguardedFetch } from '../replay/index.ts';
import type { CampaignArm, Store } from '../store/index.ts';
import { sha256Hex } from '../tape/index.ts';
import { type ArmResult, type CampaignItem, type CampaignPlan, NO_DECISION } from './campaign-types.ts';

/** Re-decides one item by forking its whole run (`run` mode); the executor calls it in place of a single request. */
export type ForkDecider = (item: CampaignItem, arm: CampaignArm, model: string) => Promise<ArmResult>;

export interface ForkDeciderOptions {
  store: Store;
  campaignId: string;
  plan: CampaignPlan;
  agent: AgentDefinition<never, unknown, unknown>;
  redactionSalt: string;
  /** Where each arm's live model calls go. */
  endpointFor: (arm: CampaignArm) => { baseUrl: string; apiKey: string; fetch?: typeof fetch };
}

/**
 * Forks the item's run from its first model step with the arm's model, reads served from the
 * parent tape (frozen) and writes stubbed, and takes the value of the last decision of the
 * campaign's type the child made. The child run stays in the store, with its lineage, for review.
 */
export function createForkDecider(options: ForkDeciderOptions): ForkDecider {
  return async (item, arm, model) => {
    const endpoint = options.endpointFor(arm);
    // The fork catches the agent's errors into its result; watch the wire to tell a dead or
    // misconfigured endpoint (leave the item pending, stop the run) from the agent failing on its own.
    let transportFailure: EndpointError | null = null;
    const watched: typeof fetch = async (input, init) => {
      try {
        const response = await (endpoint.fetch ?? unguardedFetch())(input, init);
        if (isEndpointFailure(response.status))
          transportFailure = new EndpointError(`${endpoint.baseUrl} answered HTTP ${response.status} in a forked run`, {
            status: response.status,
            retryable: !([401, 403, 404] as number[]).includes(response.status),
          });
        return response;
      } catch (error) {
        transportFailure = new EndpointError(`${endpoint.baseUrl} is not answering (${(error as Error).message})`, { cause: error });
        throw error;
      }
    };
    // Unique per attempt: a fork cut short by a kill leaves an incomplete child, and the retry makes a new one.
    const suffix = sha256Hex(`${options.campaignId}\n${item.decisionId}\n${arm}\n${performance.now()}\n${Math.random()}`).slice(0, 8);
    const fork = await forkRun({
      store: options.store,
      runId: item.runId,
      atSeq: item.firstModelSeq,
      agent: options.agent,
      redactionSalt: options.redactionSalt,
      overrides: { model },
      reads: 'frozen',
      endpoint: { baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey },
      fetch: watched,
      childRunId: `${item.runId}_bf${arm === 'candidate' ? 'c' : 'i'}_${suffix}`,
    });
    if (fork.error && transportFailure) throw transportFailure;
    if (fork.error) return { error: `the forked run ${fork.childRunId} failed: ${fork.error}`, modelSent: model };
    const child = await loadTape(options.store, fork.childRunId);
    let value: string = NO_DECISION;
    let inputTokens = 0;
    let outputTokens = 0;
    let modelServed: string | null = null;
    for (const event of child.events) {
      if (event.kind === 'decision' && event.type === options.plan.decisionType) value = event.value;
      if (event.kind === 'model' && event.response) {
        inputTokens += event.response.usage.inputTokens ?? 0;
        outputTokens += event.response.usage.outputTokens ?? 0;
        modelServed = event.response.model.served ?? modelServed;
      }
    }
    return { value, tool: `(forked run ${fork.childRunId})`, modelSent: model, modelServed, inputTokens, outputTokens };
  };
}
