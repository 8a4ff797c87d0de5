import {
  blobRefsInside,
  blobRefsOfEvent,
  decodeBlobText,
  encodeBlob,
  type PortableTape,
  parseEvent,
  readPortableTape,
  TapeFormatError,
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
  // A Set iterates entries added during the loop, so this follows refs to any depth.
  for (const ref of refs) {
    const json = tape.blobs.get(ref);
    if (json) for (const inner of blobRefsInside(JSON.parse(json))) refs.add(inner);
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
  if (missing.length)
    throw new TapeFormatError({
      message: `the tape references ${missing.length} blob(s) it does not contain (first ${missing[0]?.slice(0, 12)}…); export it again with \`retrial export\``,
    });
  const outcome = await store.importRunBundle({
    run: tape.run,
    events: tape.events,
    blobs: [...tape.blobs].map(([hash, json]) => encodeBlob(hash, json)),
    decisions: tape.decisions as unknown as DecisionRecord[],
    modelsServed: tape.modelsServed,
  });
  return { runId: tape.run.header.runId, outcome, events: tape.events.length, blobs: tape.blobs.size };
}
