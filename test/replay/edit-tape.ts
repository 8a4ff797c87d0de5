import { deriveRunLedger } from '../../src/store/index.ts';
import { canonicalJson, chainNext, type RunEnding, type RunHeader, sealRun } from '../../src/tape/index.ts';

/**
 * Edits the events of a portable tape and re-seals it, with its ledger lines derived again from the
 * edited decision events, so the result is a valid tape whose content differs: what a replay must
 * then catch or accept is the edit, not a broken hash or a ledger that disagrees with its chain.
 */
export function editTape(text: string, edit: (events: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): string {
  const lines = text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const run = lines[0] as Record<string, unknown>;
  const events = edit(lines.filter((line) => line.type === 'event').map((line) => line.event as Record<string, unknown>));
  let head = run.rootHash as string;
  const eventLines = events.map((event, seq) => {
    const renumbered = { ...event, seq };
    head = chainNext(head, canonicalJson(renumbered));
    return { type: 'event', hash: head, event: renumbered };
  });
  const ledger = deriveRunLedger(
    run.header as RunHeader,
    eventLines.map((line) => ({ seq: line.event.seq, kind: String((line.event as Record<string, unknown>).kind), json: canonicalJson(line.event) })),
  );
  const decisionLines = [...ledger.decisions.values()].map((decision) => ({ type: 'decision', decision }));
  const ending = run.ending as RunEnding;
  const newRun = { ...run, headHash: head, eventCount: events.length, sealHash: sealRun(head, ending), modelsServed: ledger.modelsServed };
  const rest = lines.filter((line) => line.type !== 'event' && line.type !== 'run' && line.type !== 'decision');
  return `${[newRun, ...eventLines, ...decisionLines, ...rest].map((line) => canonicalJson(line)).join('\n')}\n`;
}
