import {
  decodeBlobText,
  deepestJsonLine,
  encodeBlob,
  isStackOverflow,
  type PortableTape,
  readPortableTape,
  TapeFormatError,
  writePortableTape,
} from '../tape/index.ts';
import { bundleLedgerProblems } from './ledger-chain.ts';
import { collectRunBlobRefs } from './run-blob-refs.ts';
import type { DecisionRecord, Store } from './store.ts';

/**
 * Writes one run as a self-contained `.tape.jsonl` text. The ledger rows are the run's own
 * decisions as stored (a row changed in the store is carried as it is, so import refuses it);
 * corrections stay behind with the audit log that vouches for them.
 */
export async function exportRun(store: Store, runId: string): Promise<string> {
  const bundle = await store.getRunBundle(runId);
  const blobs = new Map<string, string>();
  for (const blob of bundle.blobs) blobs.set(blob.hash, decodeBlobText(blob));
  return writePortableTape({
    run: bundle.run,
    modelsServed: bundle.modelsServed,
    events: bundle.events,
    decisions: bundle.decisions.filter((decision) => decision.supersedes === null).map((decision) => ({ ...decision })),
    blobs,
  });
}

/**
 * Reads a portable tape and writes it into the store in one transaction: all of it or nothing.
 * Throws TapeFormatError (with the line) on malformed input or a tape whose blobs are missing.
 */
export async function importRun(store: Store, text: string): Promise<{ runId: string; outcome: 'imported' | 'exists'; events: number; blobs: number }> {
  let tape: PortableTape;
  let referenced: string[];
  let problem: ReturnType<typeof bundleLedgerProblems>[number] | undefined;
  try {
    tape = readPortableTape(text);
    [problem] = bundleLedgerProblems(tape);
    // readPortableTape has validated every event, so collecting refs here cannot fail on one.
    referenced = collectRunBlobRefs(tape.run, tape.events, (hash) => {
      const json = tape.blobs.get(hash);
      return json === undefined ? undefined : encodeBlob(hash, json);
    });
  } catch (error) {
    if (!isStackOverflow(error)) throw error;
    // JSON.parse takes any depth; the checks that walk the value recurse and run out of stack.
    const { line, depth } = deepestJsonLine(text);
    throw new TapeFormatError({ line, message: `a value is nested ${depth} levels deep, more than import can check; remove or flatten it`, cause: error });
  }
  if (problem !== undefined) {
    // Decision lines follow the run line and the event lines; a problem without a line of its own is the run line's or its event's.
    const line =
      problem.decision !== null
        ? (tape.decisionLines?.[problem.decision] ?? undefined)
        : problem.field === 'modelsServed'
          ? 1
          : problem.seq !== null
            ? problem.seq + 2
            : undefined;
    throw new TapeFormatError({ line, message: `${problem.message}; the tape was changed, export it again from its store` });
  }
  const missing = referenced.filter((ref) => !tape.blobs.has(ref));
  if (missing.length)
    throw new TapeFormatError({
      message: `the tape references ${missing.length} blob(s) it does not contain (first ${missing[0]?.slice(0, 12)}…); export it again with \`npx retrial export\``,
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
