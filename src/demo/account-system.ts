import type { SimulatedAccount } from './simulator/index.ts';

/**
 * The demo's in-memory account system: the "real world" the support agent's tools act on.
 * Write tools change it; a replay must never touch it.
 */
/** The account record the agent's `lookup_account` returns: the shape the simulator reads. */
export type Account = SimulatedAccount;

export interface AccountSystem {
  lookup(customerId: string): Account | { error: string };
  setGracePeriod(customerId: string, days: number): { ok: boolean; grace_until_days: number };
  closeAccount(customerId: string, reason: string): { ok: boolean; status: string };
  issueRefund(customerId: string, amount: number, reason: string): { ok: boolean; refund_id: string; amount: number };
  denyRefund(customerId: string, reason: string): { ok: boolean };
  escalate(customerId: string, summary: string): { ok: boolean; queue: string; position: number };
  /** Replaces an account's state (used by the demo to move the world on). */
  put(account: Account): void;
  /** Count of write operations executed, by kind. Tests use it to prove replays execute none. */
  readonly writes: Record<string, number>;
}

export function createAccountSystem(accounts: Iterable<Account> = []): AccountSystem {
  const byId = new Map<string, Account>();
  for (const account of accounts) byId.set(account.customer_id, structuredClone(account));
  const writes: Record<string, number> = {};
  let refundCounter = 0;
  let escalations = 0;
  const count = (kind: string) => {
    writes[kind] = (writes[kind] ?? 0) + 1;
  };
  const get = (customerId: string) => byId.get(customerId);

  return {
    writes,
    lookup(customerId) {
      const account = get(customerId);
      return account ? structuredClone(account) : { error: `no account ${customerId}` };
    },
    setGracePeriod(customerId, days) {
      count('set_grace_period');
      const account = get(customerId);
      if (!account) return { ok: false, grace_until_days: 0 };
      account.grace_used_this_year = true;
      account.grace_eligible = false;
      return { ok: true, grace_until_days: days };
    },
    closeAccount(customerId) {
      count('close_account');
      const account = get(customerId);
      if (!account) return { ok: false, status: 'unknown' };
      account.status = 'closed';
      return { ok: true, status: 'closed' };
    },
    issueRefund(customerId, amount) {
      count('issue_refund');
      const account = get(customerId);
      if (account) account.prior_refunds_90d += 1;
      refundCounter += 1;
      return { ok: Boolean(account), refund_id: `rf_${refundCounter.toString().padStart(6, '0')}`, amount };
    },
    denyRefund(customerId) {
      count('deny_refund');
      return { ok: Boolean(get(customerId)) };
    },
    escalate() {
      count('escalate_to_human');
      escalations += 1;
      return { ok: true, queue: 'tier-2', position: escalations };
    },
    put(account) {
      byId.set(account.customer_id, structuredClone(account));
    },
  };
}
