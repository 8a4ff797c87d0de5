import { parseSimulatedAccount, type SimulatedAccount } from './simulated-account.ts';
import { ACCOUNT_ACTION_TOOL_NAMES, type SimulatorToolName } from './simulator-actions.ts';

/**
 * What the simulated model reads from a conversation. SIMULATOR ONLY. Both wire formats are
 * first reduced to `SimulatorMessage`s (role plus text; tool results keep their tool's name),
 * then this file finds the phase, the customer's intent, the customer id and the account.
 */
export interface SimulatorMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  text: string;
  /** For `tool` messages: the name of the tool whose result this is, when it can be known. */
  toolName?: string;
}

/** identify: nothing looked up yet. decide: the account is known, no action taken. confirm: an action's result is in. */
export type ConversationPhase = 'identify' | 'decide' | 'confirm';
export type CustomerIntent = 'more_time' | 'close' | 'refund' | 'question';

export interface ConversationFeatures {
  phase: ConversationPhase;
  intent: CustomerIntent;
  /** From the account when looked up, else the latest user message, else the system prompt. */
  customerId: string | undefined;
  /** The parsed `lookup_account` result; undefined before lookup or when it was not an account. */
  account: SimulatedAccount | undefined;
  /** In the confirm phase: the action tool whose result came last, and that result's text. */
  completedAction: { toolName: SimulatorToolName; resultText: string } | undefined;
}

const INTENT_KEYWORDS: ReadonlyArray<readonly [CustomerIntent, readonly string[]]> = [
  // Ties go to the earlier intent: a customer who asks for time and mentions closing wants time.
  ['more_time', ['more time', 'extension', 'grace', "can't pay", 'next week', 'paycheck', 'few more days']],
  ['refund', ['refund', 'charged twice', 'double charge', 'overcharged', 'money back']],
  ['close', ['close my account', 'cancel my', 'delete my account']],
];
const NEGATION_BEFORE = /\b(?:don't|do not|not|never|no need to)\s+(?:\w+\s+){0,2}$/;
const CUSTOMER_ID = /\bC-\d+\b/g;

export function extractConversationFeatures(messages: readonly SimulatorMessage[]): ConversationFeatures {
  const latestUserText = [...messages].reverse().find((message) => message.role === 'user' && message.text.trim() !== '')?.text ?? '';
  const systemText = messages
    .filter((message) => message.role === 'system')
    .map((message) => message.text)
    .join('\n');
  let account: SimulatedAccount | undefined;
  let lookedUp = false;
  let completedAction: ConversationFeatures['completedAction'];
  for (const message of messages) {
    if (message.role !== 'tool') continue;
    if (message.toolName === 'lookup_account') {
      lookedUp = true;
      account = parseSimulatedAccount(message.text) ?? account;
    } else if (ACCOUNT_ACTION_TOOL_NAMES.includes(message.toolName as SimulatorToolName)) {
      completedAction = { toolName: message.toolName as SimulatorToolName, resultText: message.text };
    }
  }
  const phase: ConversationPhase = completedAction ? 'confirm' : lookedUp ? 'decide' : 'identify';
  const customerId = account?.customer_id ?? lastCustomerId(latestUserText) ?? lastCustomerId(systemText);
  return { phase, intent: classifyIntent(latestUserText), customerId, account, completedAction };
}

/** Keyword scoring: each keyword found (and not negated just before) scores one for its intent. */
export function classifyIntent(text: string): CustomerIntent {
  const normalized = text.toLowerCase().replace(/[\u2018\u2019]/g, "'");
  let best: CustomerIntent = 'question';
  let bestScore = 0;
  for (const [intent, keywords] of INTENT_KEYWORDS) {
    let score = 0;
    for (const keyword of keywords) {
      for (let at = normalized.indexOf(keyword); at !== -1; at = normalized.indexOf(keyword, at + 1)) {
        if (!NEGATION_BEFORE.test(normalized.slice(Math.max(0, at - 24), at))) score += 1;
      }
    }
    if (score > bestScore) {
      best = intent;
      bestScore = score;
    }
  }
  return best;
}

function lastCustomerId(text: string): string | undefined {
  const matches = text.match(CUSTOMER_ID);
  return matches ? matches[matches.length - 1] : undefined;
}
