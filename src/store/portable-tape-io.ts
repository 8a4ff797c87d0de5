import {
  blobRefsOfEvent,
  blobRefsOfWireBody,
  decodeBlobText,
  encodeBlob,
  parseEvent,
  type PortableTape,
  readPortableTape,
  TapeFormatError,
  type WireBody,
  writePortableTape,
} from '../tape/index.ts';
import type { DecisionRecord, Store } from './store.ts';

/** Writes one run as a self-contained `.tape.jsonl` text. */
export async function exportRun(store: Store, runId: string): Promise<string> {
  const bundle = await store.getRunBundle(runId);
  const blobs = new Map<string, string>();
  for (const blob of bundle.blobs) blobs.set(blob.hash, decodeBlobText(blob));
  return writePortableTape({
    run: bundle.run,
    modelsServed: bundle.modelsServed,
    events: bundle.events,
    decisions: bundle.decisions.map((decision) => ({ ...decision })),
    blobs,
  });
}

function referencedBlobs(tape: PortableTape): Set<string> {
  const refs = new Set<string>();
  for (const row of tape.events) {
    const parsed = parseEvent(JSON.parse(row.json));
    if (parsed.ok && parsed.event) for (const ref of blobRefsOfEvent(parsed.event)) refs.add(ref);
  }
  if (tape.run.ending?.output) refs.add(tape.run.ending.output);
  for (const ref of [...refs]) {
    const json = tape.blobs.get(ref);
    if (!json) continue;
    const value = JSON.parse(json) as WireBody | null;
    if (value && typeof value === 'object' && (value.kind === 'json-template' || value.kind === 'text')) for (const inner of blobRefsOfWireBody(value)) refs.add(inner);
  }
  return refs;
}

/**
 * Reads a portable tape and writes it into the store in one transaction: all of it or nothing.
 * Throws TapeFormatError (with the line) on malformed input or a tape whose blobs are missing.
 */
export async function importRun(store: Store, text: string): Promise<{ runId: string; outcome: 'imported' | 'exists'; events: number; blobs: number }> {
  const tape = readPortableTape(text);
  const missing = [...referencedBlobs(tape)].filter((ref) => !tape.blobs.has(ref));
  if (missing.length) throw new TapeFormatError({ message: `the tape references ${missing.length} blob(s) it does not contain (first ${missing[0]?.slice(0, 12)}…); export it again with \`retrial export\`` });
  const outcome = await store.importRunBundle({
    run: tape.run,
    events: tape.events,
    blobs: [...tape.blobs].map(([hash, json]) => encodeBlob(hash, json)),
    decisions: tape.decisions as unknown as DecisionRecord[],
    modelsServed: tape.modelsServed,
  });
  return { runId: tape.run.header.runId, outcome, events: tape.events.length, blobs: tape.blobs.size };
}
