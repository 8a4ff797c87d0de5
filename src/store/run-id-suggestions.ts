/** How many close matches a RunNotFoundError offers. */
const SUGGESTION_LIMIT = 5;
/** Shorter prefixes than this match too much to be a useful suggestion. */
const SHORTEST_PREFIX = 4;

/**
 * Ids that look like what the user meant: runs whose id starts with the typed id (an abbreviated
 * id), else runs sharing the longest prefix with it (a typo near the end, a truncated paste).
 */
export async function suggestRunIds(runId: string, findRunIds: (prefix: string, limit?: number) => Promise<string[]>): Promise<string[]> {
  for (let length = runId.length; length >= Math.min(SHORTEST_PREFIX, runId.length) && length > 0; length--) {
    const matches = await findRunIds(runId.slice(0, length), SUGGESTION_LIMIT);
    const others = matches.filter((id) => id !== runId);
    if (others.length > 0) return others;
  }
  return [];
}
