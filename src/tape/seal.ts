import { canonicalJson } from './canonical-json.ts';
import { chainNext } from './hash-chain.ts';
import type { RunEnding } from './run-record.ts';

/** The seal covers the last event hash and how the run ended, so the output is tamper-evident too. */
export function sealRun(headHash: string, ending: RunEnding): string {
  return chainNext(headHash, canonicalJson({ ending }));
}
