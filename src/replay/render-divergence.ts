import { DIVERGENCE_TITLES, type Divergence, type RefusedRequest } from './divergence.ts';

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? 'undefined');
}

/** Where a divergence is: the recorded step, or what stands in for one when the tape has none. */
function placeOf(divergence: Divergence): string {
  if (divergence.seq !== null) return `step ${divergence.seq}`;
  if (divergence.code === 'OUTPUT_MISMATCH') return 'the end of the run';
  if (divergence.code === 'UNSANCTIONED_NONDETERMINISM') return 'a read or request the tape does not have';
  return 'a call the tape does not have';
}

/** A divergence as text: code, step, both call sites and the field diff (the CLI and `retrial/testing` print this). */
export function renderDivergence(divergence: Divergence): string {
  const lines = [`${divergence.code} at ${placeOf(divergence)} (${divergence.causalKey}): ${divergence.message}`];
  lines.push(`  means: ${DIVERGENCE_TITLES[divergence.code]}`);
  if (divergence.site) lines.push(`  replayed at ${divergence.site}`);
  if (divergence.recordedSite) lines.push(`  recorded at ${divergence.recordedSite}`);
  for (const difference of divergence.differences) {
    lines.push(`  ${difference.path}`, `    recorded: ${show(difference.expected)}`, `    replayed: ${show(difference.received)}`);
  }
  return lines.join('\n');
}

/**
 * What a sealed replay, fork or explain refused from outside the run, in one sentence (null when
 * nothing tried to leave): summary lines say this instead of "nothing left the process".
 */
export function renderRefusedRequests(refused: readonly RefusedRequest[]): string | null {
  if (refused.length === 0) return null;
  const shown = refused.slice(0, 3).map((request) => `${request.target} (from ${request.site ?? 'code outside the agent: a library or retrial itself'})`);
  const more = refused.length > shown.length ? `, and ${refused.length - shown.length} more` : '';
  return `${refused.length} request${refused.length === 1 ? '' : 's'} made outside the run (a timer or background work) tried to leave the process and ${refused.length === 1 ? 'was' : 'were'} refused: ${shown.join(', ')}${more}.`;
}
