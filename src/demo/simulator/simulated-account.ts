/**
 * The account record of the demo world, as the demo's `lookup_account` tool returns it (JSON in
 * the tool result). SIMULATOR ONLY: the simulated model reads these fields to decide; a real
 * model would read the same JSON as text.
 */
export type AccountPlan = 'basic' | 'plus' | 'business';
export type AccountStatus = 'active' | 'past_due' | 'closed';

export interface SimulatedAccount {
  /** Customer id, `C-` followed by digits. */
  customer_id: string;
  name: string;
  plan: AccountPlan;
  status: AccountStatus;
  /** Amount owed now, in US dollars. */
  balance_due: number;
  /** Days since the oldest unpaid invoice was due; 0 when nothing is overdue. */
  days_overdue: number;
  tenure_months: number;
  /** Whether policy allows a grace period at all for this account. */
  grace_eligible: boolean;
  /** A grace period already granted in the current calendar year uses up eligibility. */
  grace_used_this_year: boolean;
  /** The most recent charge: amount in US dollars, age in days, and whether it duplicates an earlier one. */
  last_charge: { amount: number; age_days: number; duplicate: boolean };
  /** Refunds issued to this customer in the last 90 days. */
  prior_refunds_90d: number;
}

const PLANS: readonly AccountPlan[] = ['basic', 'plus', 'business'];
const STATUSES: readonly AccountStatus[] = ['active', 'past_due', 'closed'];

/**
 * Reads a `lookup_account` result. Returns undefined when the text is not an account (an error
 * message, a different tool's output); missing optional fields take neutral defaults so a
 * hand-written tool stub in a test still gets a sensible decision.
 */
export function parseSimulatedAccount(text: string): SimulatedAccount | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.customer_id !== 'string') return undefined;
  const lastCharge = (typeof record.last_charge === 'object' && record.last_charge !== null ? record.last_charge : {}) as Record<string, unknown>;
  return {
    customer_id: record.customer_id,
    name: typeof record.name === 'string' ? record.name : 'there',
    plan: PLANS.includes(record.plan as AccountPlan) ? (record.plan as AccountPlan) : 'basic',
    status: STATUSES.includes(record.status as AccountStatus) ? (record.status as AccountStatus) : 'active',
    balance_due: numberOr(record.balance_due, 0),
    days_overdue: numberOr(record.days_overdue, 0),
    tenure_months: numberOr(record.tenure_months, 12),
    grace_eligible: record.grace_eligible === true,
    grace_used_this_year: record.grace_used_this_year === true,
    last_charge: {
      amount: numberOr(lastCharge.amount, 0),
      age_days: numberOr(lastCharge.age_days, 0),
      duplicate: lastCharge.duplicate === true,
    },
    prior_refunds_90d: numberOr(record.prior_refunds_90d, 0),
  };
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
