import { type AccountSystem, createAccountSystem } from './account-system.ts';
import { createDemoWorld } from './demo-world.ts';
import { CANDIDATE_VERSION_ID } from './simulator/index.ts';

/**
 * The demo world as it is "now", weeks after the incident, when the on-call engineer tries to
 * reproduce it. Two things really moved: the `support-sim` alias now resolves to the newer dated
 * version, and the customer of the incident has paid their balance. An investigation that only
 * re-runs the message today sees neither; `retrial explain` names both.
 */
export const DEMO_NOW_ALIASES: Readonly<Record<string, string>> = { 'support-sim': CANDIDATE_VERSION_ID };

export function createDemoAccountsNow(): AccountSystem {
  const world = createDemoWorld({ runs: 2000, endAt: Date.now() });
  const accounts = createAccountSystem(world.tickets.map((scheduled) => scheduled.account));
  const incident = world.tickets.find((scheduled) => scheduled.ticket.ticketId === world.incidentTicketId);
  if (incident)
    accounts.put({
      ...incident.account,
      status: 'active',
      balance_due: 0,
      days_overdue: 0,
      grace_eligible: false,
      last_charge: { amount: 39, age_days: 2, duplicate: false },
    });
  return accounts;
}
