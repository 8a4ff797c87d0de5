/**
 * What the recorded runs contain, and which of them the benchmark replays.
 *
 * The issue's target speaks of "a 6-step run". The demo's runs are not all alike: some tickets
 * end after the account lookup (2 model calls), most go on to an action (3 model calls). To make
 * "a run" one precise thing, the benchmark replays only the runs whose tape has the most common
 * signature (number of events of each kind), and prints that signature, the distribution of
 * event counts and model calls over all runs, and one such tape event by event.
 * It reads the stored rows' `kind` and `key` columns only (no parsing), so it costs little.
 */
import type { Store, StoredEvent } from '../../src/store/index.ts';
import type { CorpusRun } from './demo-corpus.ts';

const KINDS = ['input', 'config', 'retrieval', 'model', 'tool', 'decision', 'clock', 'random'] as const;

export interface RunShapes {
  /** The runs with the modal signature, in recording order. */
  typical: CorpusRun[];
  typicalSignature: string;
  /** Signature -> number of runs. */
  signatures: Map<string, number>;
  eventsPerRun: Map<number, number>;
  modelCallsPerRun: Map<number, number>;
  /** Of the typical runs: tool names and channels, counted. */
  toolNames: Map<string, number>;
  channels: Map<string, number>;
  /** One typical tape, `seq kind key` per event. */
  example: string[];
  exampleRunId: string;
}

function signatureOf(events: readonly StoredEvent[]): string {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.kind, (counts.get(event.kind) ?? 0) + 1);
  const known = KINDS.map((kind) => `${kind} ${counts.get(kind) ?? 0}`);
  const other = [...counts].filter(([kind]) => !(KINDS as readonly string[]).includes(kind)).map(([kind, n]) => `${kind} ${n}`);
  return [...known, ...other].join(', ');
}

const bump = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);

export async function describeRunShapes(store: Store, runs: readonly CorpusRun[]): Promise<RunShapes> {
  const eventsOf = new Map<string, StoredEvent[]>();
  const signatures = new Map<string, number>();
  const eventsPerRun = new Map<number, number>();
  const modelCallsPerRun = new Map<number, number>();
  for (const run of runs) {
    const events = await store.getEvents(run.runId);
    eventsOf.set(run.runId, events);
    bump(signatures, signatureOf(events));
    bump(eventsPerRun, events.length);
    bump(modelCallsPerRun, events.filter((event) => event.kind === 'model').length);
  }
  const typicalSignature = [...signatures].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const typical = runs.filter((run) => signatureOf(eventsOf.get(run.runId) ?? []) === typicalSignature);
  const toolNames = new Map<string, number>();
  const channels = new Map<string, number>();
  for (const run of typical) {
    bump(channels, run.scheduled.ticket.channel);
    for (const event of eventsOf.get(run.runId) ?? []) if (event.kind === 'tool') bump(toolNames, event.key.replace(/^tool:|#\d+$/g, ''));
  }
  const exampleRunId = typical[0]?.runId ?? '';
  const example = (eventsOf.get(exampleRunId) ?? []).map((event) => `${String(event.seq).padStart(2)} ${event.kind.padEnd(9)} ${event.key}`);
  return { typical, typicalSignature, signatures, eventsPerRun, modelCallsPerRun, toolNames, channels, example, exampleRunId };
}

/** `a: 3, b: 1` sorted by key (numbers numerically) or by count. */
export function counted<K extends string | number>(map: Map<K, number>, by: 'key' | 'count' = 'key'): string {
  const entries = [...map].sort((a, b) => (by === 'count' ? b[1] - a[1] : a[0] < b[0] ? -1 : 1));
  return entries.map(([key, n]) => `${key}: ${n}`).join(', ');
}

export function shapeSection(shapes: RunShapes, totalRuns: number): string {
  return [
    `### What a run contains (${totalRuns} runs recorded)`,
    `events per run: ${counted(shapes.eventsPerRun)}`,
    `model calls per run: ${counted(shapes.modelCallsPerRun)}`,
    'signatures (events of each kind per run):',
    ...[...shapes.signatures].sort((a, b) => b[1] - a[1]).map(([signature, n]) => `  ${String(n).padStart(4)} runs: ${signature}`),
    `replayed: the ${shapes.typical.length} runs with the most common signature (${shapes.typicalSignature})`,
    `  tools called: ${counted(shapes.toolNames, 'count')}; channel: ${counted(shapes.channels, 'count')} (chat streams the model's answers, email does not)`,
    `  one of them, ${shapes.exampleRunId}, event by event:`,
    ...shapes.example.map((line) => `    ${line}`),
  ].join('\n');
}
