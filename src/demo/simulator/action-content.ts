import type { ConversationFeatures, CustomerIntent } from './conversation-features.ts';
import type { SimulatorAction, SimulatorToolName } from './simulator-actions.ts';

/**
 * What the simulated model says or passes once it has chosen an action. SIMULATOR ONLY.
 * Deterministic templates: all randomness is in which action is chosen, so two answers with the
 * same action are byte-identical apart from ids and timestamps.
 */
export type ActionContent = { kind: 'tool'; toolName: SimulatorToolName; arguments: Record<string, unknown> } | { kind: 'text'; text: string };

const GRACE_DAYS = 30;
const INTENT_SUMMARIES: Record<CustomerIntent, string> = {
  more_time: 'asks for more time to pay',
  close: 'asks to close the account',
  refund: 'asks for a refund',
  question: 'has a question about the account',
};

export function renderActionContent(action: SimulatorAction, features: ConversationFeatures): ActionContent {
  if (action === 'reply') return { kind: 'text', text: replyText(features) };
  const customerId = features.customerId ?? 'unknown';
  const account = features.account;
  const charge = account?.last_charge;
  switch (action) {
    case 'lookup_account':
      return tool(action, { customer_id: customerId });
    case 'set_grace_period':
      return tool(action, { customer_id: customerId, days: GRACE_DAYS });
    case 'close_account':
      return tool(action, {
        customer_id: customerId,
        reason: features.intent === 'close' ? 'customer requested closure' : 'unable to pay overdue balance',
      });
    case 'issue_refund':
      return tool(action, {
        customer_id: customerId,
        amount: charge?.amount ?? 0,
        reason: charge?.duplicate ? 'duplicate charge' : 'customer requested refund',
      });
    case 'deny_refund':
      return tool(action, { customer_id: customerId, reason: denialReason(features) });
    case 'escalate_to_human': {
      const who = account ? `${account.name} (${account.plan}, ${account.status})` : `Customer ${customerId}`;
      const money = charge && features.intent === 'refund' ? ` Charge $${charge.amount.toFixed(2)}, ${charge.age_days} days old.` : '';
      return tool(action, { customer_id: customerId, summary: `${who} ${INTENT_SUMMARIES[features.intent]}.${money}` });
    }
  }
}

function tool(toolName: SimulatorToolName, toolArguments: Record<string, unknown>): ActionContent {
  return { kind: 'tool', toolName, arguments: toolArguments };
}

function denialReason(features: ConversationFeatures): string {
  const account = features.account;
  if (!account) return 'not eligible under refund policy';
  if (account.last_charge.age_days > 60) return 'charge older than 60 days';
  if (account.prior_refunds_90d >= 2) return `${account.prior_refunds_90d} refunds in the last 90 days`;
  return 'not eligible under refund policy';
}

function replyText(features: ConversationFeatures): string {
  const account = features.account;
  const name = account?.name ?? 'there';
  if (features.phase === 'identify') return 'Happy to help. Could you tell me your customer ID? It looks like C-1234.';
  if (features.phase === 'confirm' && features.completedAction) return confirmationText(features.completedAction.toolName, features);
  if (!account) return `Sorry, I could not find an account for ${features.customerId ?? 'that ID'}. Could you check the customer ID?`;
  const balance = `$${account.balance_due.toFixed(2)}`;
  switch (features.intent) {
    case 'more_time':
      return `I'm sorry, ${name}, I can't extend the due date on this account. Your balance of ${balance} is ${account.days_overdue} days overdue.`;
    case 'close':
      return `I can close account ${account.customer_id} for you, ${name}. Please confirm that you want it closed.`;
    case 'refund':
      return `Thanks, ${name}. I've noted your refund request for $${account.last_charge.amount.toFixed(2)}.`;
    case 'question':
      return `Hi ${name}, your ${account.plan} plan is ${account.status.replace('_', ' ')} with ${balance} due.`;
  }
}

function confirmationText(toolName: SimulatorToolName, features: ConversationFeatures): string {
  const name = features.account?.name ?? 'there';
  const customerId = features.customerId ?? 'your account';
  switch (toolName) {
    case 'set_grace_period':
      return `Done, ${name}: ${customerId} now has a ${GRACE_DAYS}-day grace period. No late fees in that time.`;
    case 'close_account':
      return `${name}, account ${customerId} has been closed.`;
    case 'issue_refund':
      return `Done, ${name}: a refund of $${(features.account?.last_charge.amount ?? 0).toFixed(2)} is on its way to your card.`;
    case 'deny_refund':
      return `I'm sorry, ${name}, this charge is not eligible for a refund (${denialReason(features)}).`;
    case 'escalate_to_human':
      return `Thanks, ${name}. I've passed your case to a colleague, who will contact you shortly.`;
    default:
      return `Thanks, ${name}. Is there anything else I can help with?`;
  }
}
