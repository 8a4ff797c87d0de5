import type { Store } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';

/** How many candidates an ambiguous id lists. */
const CANDIDATE_LIMIT = 10;

/** An abbreviated id or an external id that names more than one run or campaign: a command-line mistake (exit 2). */
export class AmbiguousIdError extends RetrialError {
  readonly candidates: string[];
  constructor({ what, typed, candidates, more, narrow }: { what: string; typed: string; candidates: string[]; more: boolean; narrow: string }) {
    super({
      code: 'USAGE',
      message: `"${typed}" is ambiguous: it matches ${more ? `more than ${candidates.length}` : candidates.length} ${what}s (${candidates.join(', ')}${more ? ', …' : ''}). ${narrow}`,
    });
    this.name = 'AmbiguousIdError';
    this.candidates = candidates;
  }
}

/** The one id of `matches`, undefined for none; several are an AmbiguousIdError listing them. */
function theOnly(matches: readonly string[], what: string, typed: string, narrow: string): string | undefined {
  if (matches.length > 1)
    throw new AmbiguousIdError({ what, typed, candidates: matches.slice(0, CANDIDATE_LIMIT), more: matches.length > CANDIDATE_LIMIT, narrow });
  return matches[0];
}

/**
 * The run a command-line word names: the run with that id, else the only run whose id starts
 * with it, else the only run with that ticket, customer or other external id (or decision
 * subject), forks left out unless only forks have it. More than one match is an
 * AmbiguousIdError listing them; none is the store's RunNotFoundError with close ids.
 */
export async function resolveRunId(store: Store, typed: string): Promise<string> {
  if ((await store.getRun(typed)) !== undefined) return typed;
  const byPrefix = typed === '' ? [] : await store.findRunIds(typed, CANDIDATE_LIMIT + 1);
  const prefixed = theOnly(byPrefix, 'run', typed, 'Type more of the id.');
  if (prefixed !== undefined) return prefixed;
  // A fork child keeps its parent's external ids: the ticket names the run that shipped, unless
  // only forks carry it.
  const shipped = await store.listRuns({ subject: typed, forks: 'exclude', limit: CANDIDATE_LIMIT + 1 });
  const bySubject = shipped.length ? shipped : await store.listRuns({ subject: typed, limit: CANDIDATE_LIMIT + 1 });
  const named = theOnly(
    bySubject.map((run) => run.runId),
    'run',
    typed,
    `Name one run id; \`npx retrial runs --subject ${typed}\` lists them all.`,
  );
  if (named !== undefined) return named;
  // Throws RunNotFoundError with the ids closest to what was typed.
  return (await store.getRunOrThrow(typed)).header.runId;
}

/** resolveRunId for each word, in order. */
export async function resolveRunIds(store: Store, typed: readonly string[]): Promise<string[]> {
  const resolved: string[] = [];
  for (const word of typed) resolved.push(await resolveRunId(store, word));
  return resolved;
}

/**
 * The campaign a command-line word names: that id, else the only campaign whose id starts with
 * it. An unknown word is returned as typed, so the command reports it with its usual message.
 */
export async function resolveCampaignId(store: Store, typed: string): Promise<string> {
  if ((await store.campaigns.get(typed)) !== undefined || typed === '') return typed;
  const matches = (await store.campaigns.list()).map((campaign) => campaign.campaignId).filter((id) => id.startsWith(typed));
  return theOnly(matches, 'campaign', typed, 'Type more of the id; `npx retrial backfill list` lists them.') ?? typed;
}
