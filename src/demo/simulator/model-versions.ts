import type { AccountPlan } from './simulated-account.ts';
import type { SimulatorAction } from './simulator-actions.ts';

/**
 * The simulated model's versions and their weights. SIMULATOR ONLY: these numbers are the
 * ground truth the product's behaviour-rate and flip-rate estimates are checked against.
 *
 * Intents with a fixed behaviour are written as the probabilities they give at temperature 0
 * when every listed action is offered (the scoring model turns them into logits as
 * tau * ln p), so a reader sees the behaviour directly. Refunds depend on the account, so they
 * are a small linear scorer in logit units; at temperature 0 a logit margin of 0.05 is one e-fold.
 */
export type ActionProbabilityTable = Partial<Record<SimulatorAction, number>>;

/** Logit contributions for the refund decision (approve = issue_refund, deny = deny_refund). */
export interface RefundWeights {
  approveBase: number;
  /** Added to approve when the last charge duplicates an earlier one. */
  approveDuplicate: number;
  approvePlan: Record<AccountPlan, number>;
  /** Added to approve per year of tenure, counting at most five years. */
  approvePerTenureYear: number;
  /** Deny grows by denyPerDay for every day the charge is older than denyAgeLimitDays (and shrinks below it). */
  denyAgeLimitDays: number;
  denyPerDay: number;
  /** Deny grows by denyPerPriorRefund for each refund in 90 days beyond the first. */
  denyPerPriorRefund: number;
  /** Escalate grows by escalatePerDollar for every dollar above escalateAmountLimit. */
  escalateBase: number;
  escalateAmountLimit: number;
  escalatePerDollar: number;
  /** A plain reply instead of acting; kept far below the others. */
  reply: number;
}

export interface ScoringWeights {
  /** The customer asks for more time and the account may get a grace period. */
  moreTimeEligible: ActionProbabilityTable;
  /** The customer asks for more time but policy or this year's earlier grace rules it out. */
  moreTimeNotEligible: ActionProbabilityTable;
  closeRequest: ActionProbabilityTable;
  question: ActionProbabilityTable;
  /** `lookup_account` answered with something that is not an account (an error, an unknown id). */
  lookupFailed: ActionProbabilityTable;
  refund: RefundWeights;
}

export interface ModelVersion {
  /** Dated version id, the `model` every response reports. */
  id: string;
  /** Constant per version, like a provider's `system_fingerprint` for one deployment. */
  fingerprint: string;
  /** Release time, unix seconds, as listed by GET /v1/models. */
  created: number;
  weights: ScoringWeights;
}

const SHARED_TABLES = {
  moreTimeNotEligible: { escalate_to_human: 0.9, reply: 0.08, set_grace_period: 0.02 },
  lookupFailed: { reply: 0.95, escalate_to_human: 0.05 },
} satisfies Partial<ScoringWeights>;

const INCUMBENT_REFUND: RefundWeights = {
  approveBase: 0.5,
  approveDuplicate: 3,
  approvePlan: { basic: 0, plus: 0.1, business: 0.25 },
  approvePerTenureYear: 0.05,
  denyAgeLimitDays: 60,
  denyPerDay: 0.09,
  denyPerPriorRefund: 1.2,
  escalateBase: 0.3,
  escalateAmountLimit: 200,
  escalatePerDollar: 0.02,
  reply: -3,
};

export const INCUMBENT_VERSION_ID = 'support-sim-2026-01-15';
export const CANDIDATE_VERSION_ID = 'support-sim-2026-04-01';

export const MODEL_VERSIONS: Readonly<Record<string, ModelVersion>> = {
  [INCUMBENT_VERSION_ID]: {
    id: INCUMBENT_VERSION_ID,
    fingerprint: 'fp_sim_20260115',
    created: Date.UTC(2026, 0, 15) / 1000,
    weights: {
      ...SHARED_TABLES,
      // The incident: about 1 in 29 "more time" requests closes the account instead.
      moreTimeEligible: { set_grace_period: 0.9495, close_account: 0.035, escalate_to_human: 0.015, reply: 0.0005 },
      closeRequest: { close_account: 0.99, escalate_to_human: 0.007, reply: 0.003 },
      question: { reply: 0.97, escalate_to_human: 0.03 },
      refund: INCUMBENT_REFUND,
    },
  },
  [CANDIDATE_VERSION_ID]: {
    id: CANDIDATE_VERSION_ID,
    fingerprint: 'fp_sim_20260401',
    created: Date.UTC(2026, 3, 1) / 1000,
    weights: {
      ...SHARED_TABLES,
      moreTimeEligible: { set_grace_period: 0.9815, close_account: 0.003, escalate_to_human: 0.015, reply: 0.0005 },
      closeRequest: { close_account: 0.992, escalate_to_human: 0.005, reply: 0.003 },
      question: { reply: 0.975, escalate_to_human: 0.025 },
      // More lenient on old charges, stricter on repeat refunds, escalates a little later.
      refund: { ...INCUMBENT_REFUND, denyAgeLimitDays: 64.5, denyPerPriorRefund: 1.8, escalateAmountLimit: 215 },
    },
  },
};

/** Alias name to dated version id. The demo later moves `support-sim` to the candidate. */
export const DEFAULT_MODEL_ALIASES: Readonly<Record<string, string>> = { 'support-sim': INCUMBENT_VERSION_ID };

/** The dated version a requested model name stands for, or undefined for an unknown name. */
export function resolveModelVersion(name: string, aliases: Readonly<Record<string, string>>): ModelVersion | undefined {
  // Own properties only: a model named "constructor" must be unknown, not Object's prototype.
  const versionId = Object.hasOwn(MODEL_VERSIONS, name) ? name : Object.hasOwn(aliases, name) ? aliases[name] : undefined;
  return versionId !== undefined && Object.hasOwn(MODEL_VERSIONS, versionId) ? MODEL_VERSIONS[versionId] : undefined;
}
