import { canonicalJson } from './canonical-json.ts';
import { TapeFormatError } from './errors.ts';
import { parseEvent } from './event.ts';
import { isSha256Hex, sha256Hex } from './hash.ts';
import { chainNext, chainRoot } from './hash-chain.ts';
import { runHeaderSchema } from './header.ts';
import { lazySchema, loadZod } from './lazy-schema.ts';
import { type RunRecord, statusAgreesWithEnding } from './run-record.ts';
import { sealRun } from './seal.ts';

/**
 * The portable tape: one self-contained `.tape.jsonl` file per run, to attach to an incident
 * ticket or move between stores. Every line is canonical JSON:
 *   1. `{"type":"run", ...}`: header, status, chain values, ending, served models
 *   2. `{"type":"event","hash":...,"event":{...}}` per event, in seq order
 *   3. `{"type":"decision", ...}` per ledger row (supersedes links included)
 *   4. `{"type":"blob","hash":...,"value":...}` per blob, sorted by hash
 * Writing the same run twice gives the same bytes.
 */
export const PORTABLE_TAPE_EXTENSION = '.tape.jsonl';

const lineSchemas = lazySchema((z) => ({
  run: z.looseObject({
    type: z.literal('run'),
    formatVersion: z.number().int(),
    header: z.unknown(),
    status: z.enum(['recording', 'complete', 'failed', 'incomplete']),
    rootHash: z.string(),
    headHash: z.string(),
    sealHash: z.string().nullable(),
    eventCount: z.number().int().nonnegative(),
    ending: z
      .looseObject({
        status: z.enum(['complete', 'failed', 'incomplete']),
        output: z.string().nullable(),
        error: z.looseObject({ name: z.string(), message: z.string() }).nullable(),
      })
      .nullable(),
    modelsServed: z.array(z.string()),
  }),
  event: z.object({ type: z.literal('event'), hash: z.string(), event: z.record(z.string(), z.unknown()) }),
  decision: z.object({ type: z.literal('decision'), decision: z.record(z.string(), z.unknown()) }),
  blob: z.object({ type: z.literal('blob'), hash: z.string(), value: z.unknown() }),
}));

export interface PortableTape {
  run: RunRecord;
  modelsServed: string[];
  events: Array<{ seq: number; kind: string; key: string; at: number; json: string; hash: string }>;
  /** Ledger rows as plain records; the store checks each against the decision event it comes from. */
  decisions: Array<Record<string, unknown>>;
  /** 1-based line of each entry of `decisions`, when read from a file. */
  decisionLines?: number[];
  /** Blob canonical JSON by hash. */
  blobs: Map<string, string>;
}

export function writePortableTape(tape: PortableTape): string {
  const lines: string[] = [];
  const { run } = tape;
  lines.push(
    canonicalJson({
      type: 'run',
      formatVersion: run.header.formatVersion,
      header: run.header,
      status: run.status,
      rootHash: run.rootHash,
      headHash: run.headHash,
      sealHash: run.sealHash,
      eventCount: run.eventCount,
      ending: run.ending,
      modelsServed: [...tape.modelsServed].sort(),
    }),
  );
  for (const event of tape.events) lines.push(`{"event":${event.json},"hash":${JSON.stringify(event.hash)},"type":"event"}`);
  for (const decision of tape.decisions) lines.push(canonicalJson({ type: 'decision', decision }));
  for (const hash of [...tape.blobs.keys()].sort()) lines.push(`{"hash":${JSON.stringify(hash)},"type":"blob","value":${tape.blobs.get(hash)}}`);
  return `${lines.join('\n')}\n`;
}

function parseLine(text: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TapeFormatError({ line, message: `not valid JSON (${(error as Error).message}); the file is truncated or is not a retrial tape` });
  }
}

/** Parses and fully checks a portable tape: format, hash chain, seal and every blob's hash. */
export function readPortableTape(text: string): PortableTape {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new TapeFormatError({ message: 'the file is empty; expected a retrial .tape.jsonl' });
  const schemas = lineSchemas();
  const first = schemas.run.safeParse(parseLine(lines[0] as string, 1));
  if (!first.success)
    throw new TapeFormatError({ line: 1, message: `the first line must be the run line: ${loadZod().prettifyError(first.error).replace(/\n/g, '; ')}` });
  const runLine = first.data;
  if (runLine.formatVersion !== 1)
    throw new TapeFormatError({
      line: 1,
      message: `tape format ${runLine.formatVersion} is newer than this retrial understands (1); upgrade retrial to import it`,
    });
  const header = runHeaderSchema().safeParse(runLine.header);
  if (!header.success) throw new TapeFormatError({ line: 1, message: `invalid header: ${loadZod().prettifyError(header.error).replace(/\n/g, '; ')}` });
  const run: RunRecord = {
    header: header.data,
    status: runLine.status,
    rootHash: runLine.rootHash,
    headHash: runLine.headHash,
    sealHash: runLine.sealHash,
    eventCount: runLine.eventCount,
    ending: runLine.ending,
  };
  if (chainRoot(header.data) !== run.rootHash)
    throw new TapeFormatError({ line: 1, message: "the header does not hash to the tape's root: the header was changed" });

  if (!statusAgreesWithEnding(run.status, run.ending))
    throw new TapeFormatError({
      line: 1,
      message: `status "${run.status}" does not agree with the sealed ending (${run.ending === null ? 'none' : `"${run.ending.status}"`}): the status was changed`,
    });
  const tape: PortableTape = { run, modelsServed: runLine.modelsServed, events: [], decisions: [], decisionLines: [], blobs: new Map() };
  let previous = run.rootHash;
  for (let index = 1; index < lines.length; index++) {
    const line = index + 1;
    const value = parseLine(lines[index] as string, line) as { type?: unknown };
    if (value?.type === 'event') {
      const parsed = schemas.event.safeParse(value);
      if (!parsed.success) throw new TapeFormatError({ line, message: 'malformed event line' });
      const checked = parseEvent(parsed.data.event);
      if (!checked.ok) throw new TapeFormatError({ line, message: checked.message });
      const event = parsed.data.event as { seq: number; kind: string; key: string; at: number };
      if (event.seq !== tape.events.length) throw new TapeFormatError({ line, message: `expected event seq ${tape.events.length}, found ${event.seq}` });
      const json = canonicalJson(parsed.data.event);
      previous = chainNext(previous, json);
      if (previous !== parsed.data.hash) throw new TapeFormatError({ line, message: `event ${event.seq} does not match its hash: the tape was changed` });
      tape.events.push({ seq: event.seq, kind: event.kind, key: event.key, at: event.at, json, hash: parsed.data.hash });
    } else if (value?.type === 'decision') {
      const parsed = schemas.decision.safeParse(value);
      if (!parsed.success) throw new TapeFormatError({ line, message: 'malformed decision line' });
      tape.decisions.push(parsed.data.decision);
      tape.decisionLines?.push(line);
    } else if (value?.type === 'blob') {
      const parsed = schemas.blob.safeParse(value);
      if (!parsed.success || !isSha256Hex(parsed.data.hash)) throw new TapeFormatError({ line, message: 'malformed blob line' });
      const json = canonicalJson(parsed.data.value);
      if (sha256Hex(json) !== parsed.data.hash)
        throw new TapeFormatError({ line, message: `blob ${parsed.data.hash.slice(0, 12)}… does not match its content: the tape was changed` });
      tape.blobs.set(parsed.data.hash, json);
    } else {
      // Readers ignore line types they do not know (a newer minor version may add some).
    }
  }
  if (tape.events.length !== run.eventCount)
    throw new TapeFormatError({ message: `the tape says ${run.eventCount} events but holds ${tape.events.length}: it is truncated` });
  if (previous !== run.headHash)
    throw new TapeFormatError({ message: "the last event does not match the run's head hash: events are missing or were changed" });
  if (run.ending ? run.sealHash !== sealRun(run.headHash, run.ending) : run.sealHash !== null)
    throw new TapeFormatError({ line: 1, message: "the run's ending does not match its seal: the outcome was changed" });
  return tape;
}
