import type { CanonicalMessage, CanonicalPart, CanonicalTool, TapeEvent } from '../tape/index.ts';
import type { LoadedTape } from './load-tape.ts';
import { toolServing } from './tool-serving.ts';

/** One line of a run's timeline. */
export interface TimelineRow {
  /** The event's seq: what `--step` takes. */
  step: number;
  kind: TapeEvent['kind'];
  key: string;
  /** Run clock at the call start, ISO-8601. */
  at: string;
  durationMs: number;
  /** One-line summary of what happened. */
  summary: string;
}

function clip(text: string, max = 90): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function describeParts(parts: CanonicalPart[]): string {
  return parts
    .map((part) => {
      if (part.type === 'text') return `"${clip(part.text, 70)}"`;
      if (part.type === 'tool-call') return `${part.toolName}(${clip(JSON.stringify(part.input), 60)})`;
      return part.type;
    })
    .join(' + ');
}

export function summarizeEvent(tape: LoadedTape, event: TapeEvent): string {
  switch (event.kind) {
    case 'model': {
      const served = event.response?.model.served ?? '—';
      const answer = event.response
        ? `${describeParts(event.response.content)} [${event.response.finishReason.unified}]`
        : `failed: ${event.error?.message ?? 'no response'}`;
      const messageCount = tape.messageRefs(event.request.messages).length;
      // A fork replays its parent strictly up to the fork step: the model calls before it were not sent.
      const fork = tape.run.header.fork;
      const fromParent = fork && event.seq < fork.atSeq ? ' [from the parent tape]' : '';
      return `${event.request.model} → ${served}${event.request.stream ? ' (stream)' : ''}${fromParent}, ${messageCount} msgs: ${answer}`;
    }
    case 'tool':
    case 'retrieval': {
      const args = tape.blob(event.kind === 'tool' ? event.args : event.query);
      const serving = toolServing(tape.run, event);
      const tags = [...(event.kind === 'tool' ? [event.effect] : []), ...(serving === 'ran' ? [] : [serving])];
      const effect = tags.length ? ` [${tags.join(', ')}]` : '';
      const outcome = event.error
        ? `threw ${event.error.name}: ${event.error.message}`
        : clip(JSON.stringify(event.result ? tape.blob(event.result) : null), 60);
      return `${event.name}${effect} ${clip(JSON.stringify(args), 50)} → ${outcome}`;
    }
    case 'clock':
      return `${event.source} = ${event.source === 'performance.now' ? event.value.toFixed(3) : new Date(event.value).toISOString()}`;
    case 'random':
      return `${event.source} [${event.stream}] = ${typeof event.value === 'number' ? event.value.toFixed(6) : event.value}`;
    case 'input':
      return clip(JSON.stringify(tape.blob(event.value)));
    case 'config':
      return `prompt ${event.promptVersion ?? '—'}, flags ${clip(JSON.stringify(event.flags), 60)}`;
    case 'decision':
      return `${event.type} = ${event.value} for ${event.subject}${event.amount === null ? '' : ` (${event.amount} ${event.currency ?? ''})`}${event.reversible ? '' : ', irreversible'}`;
    case 'note':
      return clip(event.text);
    case 'error':
      return `${event.name}: ${clip(event.message)}`;
  }
}

export function buildTimeline(tape: LoadedTape): TimelineRow[] {
  return tape.events.map((event) => ({
    step: event.seq,
    kind: event.kind,
    key: event.key,
    at: new Date(event.at).toISOString(),
    durationMs: Math.round(event.durationMs * 1000) / 1000,
    summary: summarizeEvent(tape, event),
  }));
}

/** Decoded request of a model event: the messages and tools the model saw. */
export function modelRequestContext(tape: LoadedTape, event: Extract<TapeEvent, { kind: 'model' }>): { messages: CanonicalMessage[]; tools: CanonicalTool[] } {
  return {
    messages: tape.messageRefs(event.request.messages).map((ref) => tape.blob<CanonicalMessage>(ref)),
    tools: event.request.tools ? tape.blob<CanonicalTool[]>(event.request.tools) : [],
  };
}
