import type { CampaignItem } from './campaign-types.ts';

/**
 * A campaign stores one item per selected decision (44,550 of them took 36 MB, most of it the
 * same field names and values over and over). An item is stored without what its id already says
 * (decisionId, runId, seq of a recorded decision `runId:seq`) and without the fields every item of
 * the campaign shares, which the plan keeps once as `itemDefaults`. The stored item stays JSON
 * with its own facts (value, subject, amount, ...) in place; expandItem gives back the whole item.
 */
const SHAREABLE = ['agent', 'currency', 'format', 'url', 'modelRequested', 'modelServed'] as const satisfies ReadonlyArray<keyof CampaignItem>;

/** The shareable fields whose value is the same in every item (none for an empty campaign). */
export function sharedItemFields(items: readonly CampaignItem[]): Record<string, unknown> {
  const first = items[0];
  if (first === undefined) return {};
  return Object.fromEntries(SHAREABLE.filter((field) => items.every((item) => item[field] === first[field])).map((field) => [field, first[field]]));
}

/** The item as stored: without what its id and the campaign's shared fields already say. */
export function compactItem(item: CampaignItem, shared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const stored: Record<string, unknown> = { ...item };
  if (item.decisionId === `${item.runId}:${item.seq}`) {
    delete stored.decisionId;
    delete stored.runId;
    delete stored.seq;
  }
  for (const [field, value] of Object.entries(shared)) if (stored[field] === value) delete stored[field];
  return stored;
}

/** The whole item from its stored form (an item stored whole, before 2026-12-07, comes back as it was). */
export function expandItem(itemId: string, stored: unknown, shared: Readonly<Record<string, unknown>> = {}): unknown {
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return stored;
  const separator = itemId.lastIndexOf(':');
  const fromId = separator > 0 ? { decisionId: itemId, runId: itemId.slice(0, separator), seq: Number(itemId.slice(separator + 1)) } : {};
  return { ...fromId, ...shared, ...stored };
}
