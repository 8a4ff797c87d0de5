import type { AccountPlan, SimulatedAccount } from './simulated-account.ts';

/**
 * The population of refund requests the demo world is made of. SIMULATOR ONLY. The simulator's
 * tuning targets (incumbent self-disagreement about 1%, candidate flips about 4%) are stated
 * over this distribution, so the demo generates its customers with this same function.
 *
 * Shape: 30% duplicate charges; charge amounts log-normal with median $60, clamped to $10-$500;
 * charge age uniform over 0-120 days; prior refunds in 90 days 0/1/2/3 with 60/25/10/5%;
 * plans basic/plus/business 50/35/15%; tenure 1-96 months.
 */
export interface RefundCase {
  account: SimulatedAccount;
  /** The customer's message asking for the refund; always classified as the `refund` intent. */
  userMessage: string;
}

const PLAN_WEIGHTS: ReadonlyArray<readonly [AccountPlan, number]> = [
  ['basic', 0.5],
  ['plus', 0.35],
  ['business', 0.15],
];
const PRIOR_REFUND_WEIGHTS = [0.6, 0.25, 0.1, 0.05];
const FIRST_NAMES = ['Ada', 'Bo', 'Chen', 'Dana', 'Eli', 'Femi', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kai', 'Lena'];
const DUPLICATE_MESSAGES = [
  'I was charged twice this month, please refund the duplicate.',
  'There is a double charge on my card for {amount}. I want my money back.',
];
const OTHER_MESSAGES = [
  'I would like a refund for my last charge of {amount}.',
  'I think I was overcharged {amount}, can I get a refund?',
  'Please refund the {amount} you charged me, I did not use the service.',
];

/** Any uniform [0, 1) source: a `SeededRandom` from `createSeededRandom`, or a plain function. */
export type UniformSource = { next(): number } | (() => number);

/** Draws one refund case; `customerNumber` makes the id (default: a random four-digit number). */
export function generateRefundCase(source: UniformSource, customerNumber?: number): RefundCase {
  const random = { next: typeof source === 'function' ? source : () => source.next() };
  const duplicate = random.next() < 0.3;
  const amount = round2(Math.min(500, Math.max(10, 60 * Math.exp(0.8 * standardNormalFrom(random)))));
  const ageDays = Math.floor(random.next() * 121);
  const priorRefunds = pickIndex(random, PRIOR_REFUND_WEIGHTS);
  const plan =
    PLAN_WEIGHTS[
      pickIndex(
        random,
        PLAN_WEIGHTS.map(([, weight]) => weight),
      )
    ]?.[0] ?? 'basic';
  const tenureMonths = 1 + Math.floor(random.next() * 96);
  const number = customerNumber ?? 1000 + Math.floor(random.next() * 9000);
  const name = FIRST_NAMES[Math.floor(random.next() * FIRST_NAMES.length)] ?? 'Ada';
  const templates = duplicate ? DUPLICATE_MESSAGES : OTHER_MESSAGES;
  const template = templates[Math.floor(random.next() * templates.length)] ?? '';
  const account: SimulatedAccount = {
    customer_id: `C-${number}`,
    name,
    plan,
    status: 'active',
    balance_due: 0,
    days_overdue: 0,
    tenure_months: tenureMonths,
    grace_eligible: true,
    grace_used_this_year: false,
    last_charge: { amount, age_days: ageDays, duplicate },
    prior_refunds_90d: priorRefunds,
  };
  return { account, userMessage: `${template.replace('{amount}', `$${amount.toFixed(2)}`)} My id is C-${number}.` };
}

/** Box-Muller; 1 - u keeps the logarithm finite. */
function standardNormalFrom(random: { next(): number }): number {
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

function pickIndex(random: { next(): number }, weights: readonly number[]): number {
  let remaining = random.next() * weights.reduce((sum, weight) => sum + weight, 0);
  for (let index = 0; index < weights.length; index++) {
    remaining -= weights[index] as number;
    if (remaining < 0) return index;
  }
  return weights.length - 1;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
