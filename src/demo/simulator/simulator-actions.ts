/**
 * The next actions the simulated support model can take. SIMULATOR ONLY. Every tool of the demo
 * world is an action, and so is `reply` (a plain text answer without a tool call), which is
 * always possible. The order is fixed: the sampler draws one Gumbel value per action in this
 * order whatever the request offers, so offering one more tool never shifts another action's draw.
 */
export const SIMULATOR_TOOL_NAMES = ['lookup_account', 'set_grace_period', 'close_account', 'issue_refund', 'deny_refund', 'escalate_to_human'] as const;
export type SimulatorToolName = (typeof SIMULATOR_TOOL_NAMES)[number];

export const SIMULATOR_ACTIONS = [...SIMULATOR_TOOL_NAMES, 'reply'] as const;
export type SimulatorAction = (typeof SIMULATOR_ACTIONS)[number];

/** A probability (or logit) for every action; actions that cannot be chosen hold 0 (or -Infinity). */
export type ActionRecord = Record<SimulatorAction, number>;

/** Tools whose result means the agent already acted on the account, so only a final reply is left. */
export const ACCOUNT_ACTION_TOOL_NAMES: readonly SimulatorToolName[] = [
  'set_grace_period',
  'close_account',
  'issue_refund',
  'deny_refund',
  'escalate_to_human',
];

/** What the request lets the model do: the tool_choice of either wire format, mapped. */
export type SimulatorToolChoice = 'auto' | 'none' | 'required' | { name: string };
