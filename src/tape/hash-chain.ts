import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './hash.ts';
import type { RunHeader } from './header.ts';

/**
 * Each run's events form a hash chain: the root is the hash of the header, and each event's hash
 * covers the previous hash and the event's canonical JSON. Changing, removing or reordering any
 * byte of any event changes every later hash and the run's head.
 */
export function chainRoot(header: RunHeader): string {
  return sha256Hex(`retrial-tape-v1\n${canonicalJson(header)}`);
}

export function chainNext(previousHash: string, eventJson: string): string {
  return sha256Hex(`${previousHash}\n${eventJson}`);
}

export interface ChainedEvent {
  seq: number;
  /** Canonical JSON of the event, exactly as stored. */
  json: string;
  /** Hash stored with the event. */
  hash: string;
}

export type HashChainProblem =
  | { code: 'EVENT_HASH_MISMATCH'; seq: number; message: string }
  | { code: 'SEQ_GAP'; seq: number; message: string }
  | { code: 'HEAD_MISMATCH'; seq: number | null; message: string };

/** Recomputes a run's chain and reports the first event whose bytes do not match. */
export function verifyHashChain(headerJsonHash: string, events: readonly ChainedEvent[], expectedHead: string | null): HashChainProblem[] {
  const problems: HashChainProblem[] = [];
  let previous = headerJsonHash;
  for (let index = 0; index < events.length; index++) {
    const event = events[index] as ChainedEvent;
    if (event.seq !== index) {
      problems.push({ code: 'SEQ_GAP', seq: event.seq, message: `expected event ${index}, found ${event.seq}` });
      return problems;
    }
    const hash = chainNext(previous, event.json);
    if (hash !== event.hash) {
      problems.push({
        code: 'EVENT_HASH_MISMATCH',
        seq: event.seq,
        message: `event ${event.seq} does not hash to its stored chain value: its bytes were changed`,
      });
      return problems;
    }
    previous = hash;
  }
  if (expectedHead !== null && previous !== expectedHead) {
    problems.push({
      code: 'HEAD_MISMATCH',
      seq: events.length ? events.length - 1 : null,
      message: `the chain ends at ${previous.slice(0, 12)}… but the run records head ${expectedHead.slice(0, 12)}…: events were removed or the head changed`,
    });
  }
  return problems;
}
