/**
 * USD per million tokens, input and output. A starting point, not a quote: prices change, so a
 * user passes their own table (`--prices prices.json`) and reports say which table they used.
 * Entries match by prefix of the model name; the simulator is free.
 */
export type PriceTable = Record<string, { inputPerMillion: number; outputPerMillion: number }>;

export const DEFAULT_PRICE_TABLE: PriceTable = {
  'support-sim': { inputPerMillion: 0, outputPerMillion: 0 },
  'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
  'claude-3-5-haiku': { inputPerMillion: 0.8, outputPerMillion: 4 },
  'claude-sonnet-4': { inputPerMillion: 3, outputPerMillion: 15 },
};

/** Cost in USD, or null when no entry matches the model (reports then say "price unknown"). */
export function costOf(table: PriceTable, model: string, inputTokens: number, outputTokens: number): number | null {
  const key = Object.keys(table)
    .filter((prefix) => model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  if (key === undefined) return null;
  const price = table[key] as PriceTable[string];
  return (inputTokens * price.inputPerMillion + outputTokens * price.outputPerMillion) / 1_000_000;
}
