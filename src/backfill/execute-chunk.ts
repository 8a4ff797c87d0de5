import { readWireRequestTexts } from '../inspect/index.ts';
import { detectWireFormatFromText } from '../providers/index.ts';
import { classifyResponse, type EndpointError, type ModelEndpoint } from '../replay/index.ts';
import type { CampaignArm, CampaignResultRecord, Store } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';
import { type ArmResult, type CampaignItem, type CampaignPlan, NO_DECISION } from './campaign-types.ts';
import type { ForkDecider } from './fork-decider.ts';

/** Where a chunk's requests go: one endpoint per arm and wire format, made by the caller. */
export type EndpointFor = (arm: CampaignArm, format: string) => ModelEndpoint;

/** A slot to send one request: resolves when concurrency and rate allow, returns its release. */
export type RequestGate = () => Promise<() => void>;

export interface ChunkWork {
  itemId: string;
  item: CampaignItem;
  /** Arms still without a result. */
  arms: CampaignArm[];
}

export interface ExecuteChunkOptions {
  store: Store;
  campaignId: string;
  plan: CampaignPlan;
  work: readonly ChunkWork[];
  endpointFor: EndpointFor;
  gate: RequestGate;
  /** For `run`-mode campaigns: re-decides an item by forking its run (see fork-decider.ts). */
  decideByFork?: ForkDecider;
  /** Wall clock for result timestamps. */
  now: () => number;
  /** Called when an arm fails in a way a later run may fix; the chunk then leaves it pending. */
  onRetryableFailure?: (error: EndpointError) => void;
  /** Called when every request will fail the same way (bad key, URL or model, missing set-up): stop the run. */
  onMisconfigured?: (error: RetrialError) => void;
  /** Called after each answered request. */
  onAnswer?: () => void;
}

export interface ChunkOutcome {
  /** Results this chunk wrote (results another executor wrote first are not counted). */
  written: number;
  /** Arms left pending because the endpoint failed in a retryable way. */
  pending: number;
}

/** Results per write transaction: small enough to lose little on a kill, large enough to stay cheap. */
const RESULT_BATCH = 16;

/** The model name an arm sends for an item: the candidate, or the incumbent as served at the time. */
export function modelForArm(plan: CampaignPlan, arm: CampaignArm, item: CampaignItem): string {
  if (arm === 'candidate') return plan.candidate.model;
  return plan.incumbent.model ?? item.modelServed ?? item.modelRequested;
}

/** The request text with only the model swapped; everything else is byte for byte what was sent. */
function withModel(text: string, model: string, recorded: string): string {
  if (model === recorded) return text;
  // Outside strings a quote is never escaped, so a lone `"model":"<recorded>"` is the top-level
  // member (the recorded request's model is the recorded name); swap it in place, keeping every byte.
  const member = `"model":${JSON.stringify(recorded)}`;
  const at = text.indexOf(member);
  if (at !== -1 && text.indexOf(member, at + member.length) === -1)
    return `${text.slice(0, at)}"model":${JSON.stringify(model)}${text.slice(at + member.length)}`;
  return JSON.stringify({ ...(JSON.parse(text) as Record<string, unknown>), model });
}

/**
 * The executor's unit of work: re-decides one chunk of a campaign's decisions on their
 * point-in-time inputs (the exact recorded request of each decision step) and writes one result per
 * item and arm in one transaction. It knows nothing of where it runs: the local pool calls it, and
 * a queue worker on another machine can call it with the same arguments.
 */
export async function executeChunk(options: ExecuteChunkOptions): Promise<ChunkOutcome> {
  const { plan } = options;
  const texts = await readWireRequestTexts(
    options.store,
    options.work.map((work) => work.item.requestBody),
  );
  // Results are written in small batches as they come, so a kill loses at most a batch of paid-for answers.
  const buffer: CampaignResultRecord[] = [];
  let written = 0;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (buffer.length) {
      const batch = buffer.splice(0);
      writing = writing.then(async () => {
        written += await options.store.campaigns.putResults(batch);
      });
    }
    return writing;
  };
  let pending = 0;

  /** Re-decides one item on one arm: its recorded request resent, or (run mode) its run forked. */
  const decide = async (item: CampaignItem, arm: CampaignArm, model: string): Promise<ArmResult> => {
    if (plan.redecide === 'run') {
      if (!options.decideByFork) throw new TypeError('this campaign re-decides whole runs and needs the agent module (--agent)');
      return options.decideByFork(item, arm, model);
    }
    const recordedText = texts.get(item.requestBody);
    if (recordedText === undefined || !detectWireFormatFromText(item.url, recordedText))
      throw new TypeError('the recorded request could not be read back from the store; run `npx retrial verify`');
    // A Gemini body names no model (its URL does, which the endpoint builds from `model`).
    const body = item.format === 'gemini' ? recordedText : withModel(recordedText, model, item.modelRequested);
    const answer = await options.endpointFor(arm, item.format).send(body, model);
    const tool = classifyResponse(answer, null);
    return {
      value: plan.mapping[tool] ?? NO_DECISION,
      tool,
      modelSent: model,
      modelServed: answer.model.served,
      inputTokens: answer.usage.inputTokens ?? 0,
      outputTokens: answer.usage.outputTokens ?? 0,
    };
  };

  const runArm = async (work: ChunkWork, arm: CampaignArm) => {
    const model = modelForArm(plan, arm, work.item);
    let result: ArmResult;
    let release: (() => void) | undefined;
    try {
      release = await options.gate();
      result = await decide(work.item, arm, model);
      options.onAnswer?.();
    } catch (error) {
      const endpointError = RetrialError.isInstance(error) && error.code === 'ENDPOINT' ? (error as EndpointError) : null;
      if (endpointError?.misconfigured || (RetrialError.isInstance(error) && error.code === 'USAGE')) {
        // Not this item's fault: leave it pending and stop, instead of a failed result per item.
        pending++;
        options.onMisconfigured?.(error as RetrialError);
        return;
      }
      if (endpointError?.retryable) {
        pending++;
        options.onRetryableFailure?.(endpointError);
        return;
      }
      // Refused for good (a 4xx, an answer that does not parse, an unreadable request): one result
      // that says so, so the decision is counted as failed instead of being retried forever.
      result = { error: (error as Error).message, modelSent: model };
    } finally {
      release?.();
    }
    buffer.push({ campaignId: options.campaignId, itemId: work.itemId, arm, at: options.now(), result });
    if (buffer.length >= RESULT_BATCH) await flush();
  };

  await Promise.all(options.work.flatMap((work) => work.arms.map((arm) => runArm(work, arm))));
  await flush();
  return { written, pending };
}
