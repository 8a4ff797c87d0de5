/**
 * The requests the benchmark sends, built to exact sizes.
 *
 * The padding is policy-like prose with varied numbers and words from a fixed-seed generator,
 * not one sentence repeated: a repeated sentence compresses to almost nothing and would flatter
 * gzip and retrial's deflated blobs alike. The ticket number changes per call so no two calls
 * send the same body (real calls don't), while the system prompt stays the same across calls,
 * as a real agent's does.
 */
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionTool } from 'openai/resources/chat/completions';

export const MODEL = 'support-sim';

export const TOOLS: ChatCompletionTool[] = [
  tool('lookup_account', 'Look up a customer account by id.', { customer_id: { type: 'string' } }),
  tool('issue_refund', 'Refund money to the customer.', { customer_id: { type: 'string' }, amount: { type: 'number' }, reason: { type: 'string' } }),
  tool('deny_refund', 'Decline a refund request with a reason.', { customer_id: { type: 'string' }, reason: { type: 'string' } }),
  tool('escalate_to_human', 'Hand the ticket to a person in tier 2.', { customer_id: { type: 'string' }, summary: { type: 'string' } }),
];

function tool(name: string, description: string, properties: Record<string, unknown>): ChatCompletionTool {
  return { type: 'function', function: { name, description, parameters: { type: 'object', properties, required: Object.keys(properties) } } };
}

const OPENING =
  'You are the first-line support agent of Northwind Utilities. Resolve tickets about payments, refunds and account status through the tools you are given. ' +
  'Always look up the account first, never ask for passwords or card numbers, and escalate when policy does not cover the case.\n';

const PLANS = ['basic', 'plus', 'business', 'enterprise', 'student', 'family'];
const REGIONS = ['north', 'south', 'east', 'west', 'central', 'coastal', 'metro', 'rural'];
const ACTIONS = ['a refund', 'a grace period', 'a fee waiver', 'a plan downgrade', 'an account closure', 'a billing correction', 'a deposit return'];
const TEAMS = ['tier 2', 'collections', 'the billing desk', 'retention', 'the regional manager', 'fraud review'];

/** Deterministic policy-like text of exactly `length` ASCII characters (no JSON escapes). */
export function policyText(length: number): string {
  let state = 0x2545f491;
  const next = (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const pick = (list: readonly string[]) => list[next(list.length)] as string;
  let text = OPENING;
  for (let clause = 1; text.length < length; clause++) {
    text +=
      `- Clause ${clause}: on the ${pick(PLANS)} plan in region ${pick(REGIONS)}, ${pick(ACTIONS)} above ${10 + next(490)} USD ` +
      `needs approval from ${pick(TEAMS)} within ${1 + next(14)} business days; below that the agent may decide alone after checking ${next(6) + 1} months of history.\n`;
  }
  return text.slice(0, length);
}

function ticket(index: number): string {
  const id = String(index).padStart(6, '0');
  return `Ticket T-${id} from customer C-${1000 + (index % 9000)}: I was charged twice this month, can you refund one of the charges please?`;
}

/**
 * Makes non-streaming chat requests whose JSON body is `targetBytes` long (when that is above
 * the unpadded size): the system prompt is padded to make up the difference. The prompt is built
 * once; each call only changes the ticket line, whose length is fixed.
 */
export function requestFactory(targetBytes: number): (index: number) => ChatCompletionCreateParamsNonStreaming {
  const build = (system: string, index: number): ChatCompletionCreateParamsNonStreaming => ({
    model: MODEL,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: ticket(index) },
    ],
    temperature: 0,
  });
  const system = policyText(Math.max(0, targetBytes - JSON.stringify(build('', 0)).length));
  return (index) => build(system, index);
}

/** Body size in bytes as the client will send it (the openai client uses JSON.stringify). */
export function bodyBytes(body: unknown): number {
  return Buffer.byteLength(JSON.stringify(body));
}

/** What a lookup tool returns: a few hundred bytes of account JSON that changes a little each step. */
export function toolResult(step: number): string {
  return JSON.stringify({
    customer_id: 'C-1042',
    plan: 'plus',
    status: 'active',
    balance_due: 42.5 + step,
    days_overdue: 0,
    tenure_months: 31,
    last_charges: [
      { id: `ch_${(7000 + step).toString(36)}a`, amount: 59.99, date: '2026-01-02', status: 'settled' },
      { id: `ch_${(7000 + step).toString(36)}b`, amount: 59.99, date: '2026-01-02', status: 'settled', possible_duplicate: true },
    ],
    notes: `Checked at step ${step}; no refund issued yet.`,
  });
}

export function followUp(step: number): string {
  return `Thanks. One more question (${step + 1}): was the charge on 2026-01-02 taken twice, and when will I see the money back on my card?`;
}
