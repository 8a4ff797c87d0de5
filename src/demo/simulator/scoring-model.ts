import { type ConversationFeatures, extractConversationFeatures, type SimulatorMessage } from './conversation-features.ts';
import { type ActionProbabilityTable, MODEL_VERSIONS, type RefundWeights, type ScoringWeights } from './model-versions.ts';
import { type SeededRandom, standardGumbel } from './prng.ts';
import type { SimulatedAccount } from './simulated-account.ts';
import { type ActionRecord, SIMULATOR_ACTIONS, SIMULATOR_TOOL_NAMES, type SimulatorAction, type SimulatorToolChoice } from './simulator-actions.ts';

/**
 * The simulated model's scoring model: conversation features to one logit per action, then exact
 * Gumbel-max sampling. SIMULATOR ONLY. The chosen action is argmax(logit + (T + tau) * gumbel),
 * so P(action) = softmax(logit / (T + tau)) exactly, and that is what `trueActionDistribution`
 * returns. tau is the tiny noise batched GPU inference has even at temperature 0.
 */
export const TINY_NOISE_TEMPERATURE = 0.05;
/** The logit of an action that makes no sense in this phase: e^-19 relative odds even at T = 1. */
const UNLIKELY_LOGIT = -20;

export function computeActionLogits(weights: ScoringWeights, features: ConversationFeatures): ActionRecord {
  switch (features.phase) {
    case 'identify':
      // Looking the customer up first is deterministic in practice: the margin is 20 logits.
      return features.customerId ? onlyLikely('lookup_account') : onlyLikely('reply');
    case 'confirm':
      return onlyLikely('reply');
    case 'decide': {
      const account = features.account;
      if (!account) return tableLogits(weights.lookupFailed);
      switch (features.intent) {
        case 'more_time':
          return tableLogits(isGraceAvailable(account) ? weights.moreTimeEligible : weights.moreTimeNotEligible);
        case 'close':
          return tableLogits(weights.closeRequest);
        case 'question':
          return tableLogits(weights.question);
        case 'refund':
          return refundLogits(weights.refund, account);
      }
    }
  }
}

export function isGraceAvailable(account: SimulatedAccount): boolean {
  return account.grace_eligible && !account.grace_used_this_year && account.status !== 'closed';
}

function refundLogits(weights: RefundWeights, account: SimulatedAccount): ActionRecord {
  const charge = account.last_charge;
  const logits = onlyLikely('reply');
  logits.reply = weights.reply;
  logits.issue_refund =
    weights.approveBase +
    (charge.duplicate ? weights.approveDuplicate : 0) +
    weights.approvePlan[account.plan] +
    (weights.approvePerTenureYear * Math.min(account.tenure_months, 60)) / 12;
  logits.deny_refund =
    weights.denyPerDay * (charge.age_days - weights.denyAgeLimitDays) + weights.denyPerPriorRefund * Math.max(0, account.prior_refunds_90d - 1);
  logits.escalate_to_human = weights.escalateBase + weights.escalatePerDollar * (charge.amount - weights.escalateAmountLimit);
  return logits;
}

/** A table written as temperature-0 probabilities becomes logits tau * ln(p); unlisted actions are unlikely. */
function tableLogits(table: ActionProbabilityTable): ActionRecord {
  const logits = onlyLikely('reply');
  for (const action of SIMULATOR_ACTIONS) {
    const probability = table[action];
    logits[action] = probability && probability > 0 ? TINY_NOISE_TEMPERATURE * Math.log(probability) : UNLIKELY_LOGIT;
  }
  return logits;
}

function onlyLikely(action: SimulatorAction): ActionRecord {
  const logits = Object.fromEntries(SIMULATOR_ACTIONS.map((name) => [name, UNLIKELY_LOGIT])) as ActionRecord;
  logits[action] = 0;
  return logits;
}

/**
 * The actions a request allows: offered simulator tools plus `reply`, narrowed by tool_choice.
 * Tools the demo world does not know are never chosen; forcing one leaves only `reply`.
 */
export function availableActions(offeredTools: readonly string[], toolChoice: SimulatorToolChoice): SimulatorAction[] {
  const tools = SIMULATOR_TOOL_NAMES.filter((name) => offeredTools.includes(name));
  if (toolChoice === 'none') return ['reply'];
  if (toolChoice === 'required') return tools.length > 0 ? tools : ['reply'];
  if (typeof toolChoice === 'object') {
    const forced = tools.find((name) => name === toolChoice.name);
    return forced ? [forced] : ['reply'];
  }
  return [...tools, 'reply'];
}

/** softmax(logit / (T + tau)) over the available actions; the rest hold 0. */
export function actionDistribution(logits: ActionRecord, available: readonly SimulatorAction[], temperature: number): ActionRecord {
  const scale = temperature + TINY_NOISE_TEMPERATURE;
  const highest = Math.max(...available.map((action) => logits[action]));
  const weights = Object.fromEntries(SIMULATOR_ACTIONS.map((action) => [action, 0])) as ActionRecord;
  let total = 0;
  for (const action of available) {
    weights[action] = Math.exp((logits[action] - highest) / scale);
    total += weights[action];
  }
  for (const action of available) weights[action] /= total;
  return weights;
}

/** One Gumbel-max draw. A Gumbel value is drawn for every action, available or not, in a fixed order. */
export function sampleAction(logits: ActionRecord, available: readonly SimulatorAction[], temperature: number, random: SeededRandom): SimulatorAction {
  const scale = temperature + TINY_NOISE_TEMPERATURE;
  let chosen: SimulatorAction = available[0] ?? 'reply';
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const action of SIMULATOR_ACTIONS) {
    const score = logits[action] + scale * standardGumbel(random);
    if (available.includes(action) && score > bestScore) {
      chosen = action;
      bestScore = score;
    }
  }
  return chosen;
}

export interface TrueActionDistributionInput {
  /** A dated version id such as `support-sim-2026-01-15` (not an alias). */
  version: string;
  messages: readonly SimulatorMessage[];
  /** Names of the tools offered. */
  tools: readonly string[];
  /** Sampling temperature as sent; 1 when the request leaves it out. */
  temperature?: number;
  toolChoice?: SimulatorToolChoice;
}

/** The exact probability of each next action for this conversation: the simulator's ground truth. */
export function trueActionDistribution(input: TrueActionDistributionInput): ActionRecord {
  const version = Object.hasOwn(MODEL_VERSIONS, input.version) ? MODEL_VERSIONS[input.version] : undefined;
  if (!version) throw new TypeError(`trueActionDistribution: unknown simulator version "${input.version}"; pass a dated id from MODEL_VERSIONS.`);
  const logits = computeActionLogits(version.weights, extractConversationFeatures(input.messages));
  return actionDistribution(logits, availableActions(input.tools, input.toolChoice ?? 'auto'), input.temperature ?? 1);
}
