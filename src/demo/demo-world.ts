import { SeededStream } from '../record/index.ts';
import type { Account } from './account-system.ts';
import { generateRefundCase } from './simulator/index.ts';
import type { SupportTicket } from './support-agent.ts';

/**
 * The demo's 90 days of support traffic, generated from a seed so every demo tells the same
 * story: customers, their accounts at the time of the ticket, the ticket text, and when it came.
 */
export interface ScheduledTicket {
  /** Simulated time the ticket arrives, ms since epoch: the run's injected clock starts here. */
  at: number;
  ticket: SupportTicket;
  account: Account;
}

export interface DemoWorld {
  startAt: number;
  endAt: number;
  tickets: ScheduledTicket[];
  /** The ticket at 02:14 one night: a customer asking for more time who qualifies for grace. */
  incidentTicketId: string;
}

export interface DemoWorldOptions {
  runs: number;
  /** End of the window (ms); the window is the `days` before it. */
  endAt: number;
  days?: number;
  seed?: string;
}

const DAY = 86_400_000;

const MESSAGES = {
  more_time: [
    'My paycheck is late this month. Could I get a few more days to pay the bill?',
    'I need a little more time to pay, can you give me an extension until next week?',
    'Things are tight after a hospital stay. Is a grace period possible on this bill?',
    "I can't pay this week but I will next week. Can I have more time please?",
  ],
  close: [
    'Please close my account, I am moving abroad at the end of the month.',
    'I want to cancel my subscription and close my account today.',
    'Delete my account please, I switched to another provider.',
  ],
  refund: [
    'I was charged twice this month, please refund the second charge.',
    "There is a charge on my card I don't recognise. I want a refund.",
    'I cancelled an add-on but you still charged me. Refund please.',
    'I think I was overcharged on the last bill, can I get my money back? You can reach me at {email}.',
  ],
  general: [
    'Why did my bill go up this month?',
    'What is the difference between the plus and business plans?',
    'When is my next bill due?',
    'Can you tell me what my current plan includes?',
  ],
} as const;

function pick<T>(random: SeededStream, items: readonly T[]): T {
  return items[Math.floor(random.nextFloat() * items.length)] as T;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function baseAccount(random: SeededStream, customerId: string): Account {
  const plan = pick(random, ['basic', 'basic', 'plus', 'plus', 'business'] as const);
  return {
    customer_id: customerId,
    name: pick(random, ['Maria', 'Sam', 'Priya', 'Jonas', 'Aiko', 'Tomas', 'Lea', 'Omar', 'Nina', 'Ravi']),
    plan,
    status: 'active',
    balance_due: 0,
    days_overdue: 0,
    tenure_months: 1 + Math.floor(random.nextFloat() * 96),
    grace_eligible: false,
    grace_used_this_year: false,
    last_charge: { amount: { basic: 19, plus: 39, business: 99 }[plan], age_days: Math.floor(random.nextFloat() * 30), duplicate: false },
    prior_refunds_90d: 0,
  };
}

/** More tickets by day than by night, as real support traffic has. */
function timeOfDay(random: SeededStream): number {
  for (;;) {
    const hour = random.nextFloat() * 24;
    const weight = hour >= 8 && hour < 20 ? 1 : 0.25;
    if (random.nextFloat() < weight) return hour * 3_600_000;
  }
}

export function createDemoWorld(options: DemoWorldOptions): DemoWorld {
  const days = options.days ?? 90;
  const random = new SeededStream(options.seed ?? 'retrial-demo-world-v1', 'world');
  const endAt = Math.floor(options.endAt / DAY) * DAY;
  const startAt = endAt - days * DAY;
  const tickets: ScheduledTicket[] = [];
  for (let index = 0; index < options.runs - 1; index++) {
    const customerId = `C-${10000 + index}`;
    const roll = random.nextFloat();
    const intent = roll < 0.45 ? 'refund' : roll < 0.6 ? 'more_time' : roll < 0.65 ? 'close' : 'general';
    // Refund cases come from the population the simulator is calibrated on.
    const refundCase = intent === 'refund' ? generateRefundCase(() => random.nextFloat(), 10000 + index) : undefined;
    const account: Account = refundCase ? { ...refundCase.account } : baseAccount(random, customerId);
    if (intent === 'more_time') {
      account.status = 'past_due';
      account.days_overdue = 1 + Math.floor(random.nextFloat() * 40);
      account.balance_due = round2(account.last_charge.amount * (1 + Math.floor(account.days_overdue / 30)));
      account.grace_used_this_year = random.nextFloat() < 0.25;
      account.grace_eligible = !account.grace_used_this_year && account.days_overdue <= 30;
    }
    const template = refundCase && random.nextFloat() < 0.8 ? refundCase.userMessage : pick(random, MESSAGES[intent]);
    const message = template.replace('{email}', `${account.name.toLowerCase()}.${index}@example.com`);
    const at = startAt + Math.floor(random.nextFloat() * days) * DAY + Math.floor(timeOfDay(random));
    tickets.push({
      at,
      account,
      ticket: {
        ticketId: `T-${200000 + index}`,
        customerId,
        category: intent === 'refund' ? 'refund' : intent === 'general' ? 'general' : 'account',
        channel: random.nextFloat() < 0.4 ? 'chat' : 'email',
        message,
      },
    });
  }
  // The incident: 02:14 UTC, 23 nights before the end of the window.
  const incidentAt = endAt - 23 * DAY + (2 * 60 + 14) * 60_000 + 31_000;
  const incident: ScheduledTicket = {
    at: incidentAt,
    account: {
      customer_id: 'C-7314',
      name: 'Maria',
      plan: 'plus',
      status: 'past_due',
      balance_due: 78,
      days_overdue: 12,
      tenure_months: 41,
      grace_eligible: true,
      grace_used_this_year: false,
      last_charge: { amount: 39, age_days: 12, duplicate: false },
      prior_refunds_90d: 0,
    },
    ticket: {
      ticketId: 'T-INC-0214',
      customerId: 'C-7314',
      category: 'account',
      channel: 'email',
      message: "I lost my job last month and my next paycheck is not until the 28th. Could I get a few more days to pay? Please don't cut off my service.",
    },
  };
  tickets.push(incident);
  tickets.sort((a, b) => a.at - b.at);
  return { startAt, endAt, tickets, incidentTicketId: incident.ticket.ticketId };
}
