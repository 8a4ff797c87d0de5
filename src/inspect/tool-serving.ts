import type { RetrievalEvent, RunRecord, ToolEvent } from '../tape/index.ts';

/**
 * How a recorded tool call or retrieval was answered (an HTTP call the agent made through
 * `rec.fetch` is a tool event too). `stubbed` on the event says only that the body did not
 * run; in a forked run (`retrial fork`, `backfill --redecide run`) that is a write stubbed, a read
 * answered from the parent's tape, or a read refused because reads were frozen and the parent
 * never made it. Each means something different to whoever reads the fork's timeline.
 */
export type ToolServing = 'ran' | 'stubbed' | 'from the parent tape' | 'refused: not on the parent tape, reads frozen';

export function toolServing(run: RunRecord, event: ToolEvent | RetrievalEvent): ToolServing {
  if (!event.stubbed) return 'ran';
  if (!run.header.fork || (event.kind === 'tool' && event.effect === 'write')) return 'stubbed';
  return event.error?.name === 'FrozenReadError' ? 'refused: not on the parent tape, reads frozen' : 'from the parent tape';
}
