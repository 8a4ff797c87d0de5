import type { RunHeader, RunStatus } from './header.ts';

/** How a finished run ended: sealed into the chain after its last event. */
export interface RunEnding {
  status: Exclude<RunStatus, 'recording'>;
  /** Blob ref of the agent function's return value, or null. */
  output: string | null;
  error: { name: string; message: string } | null;
}

/** A run's header plus the chain values the store keeps beside it. */
export interface RunRecord {
  header: RunHeader;
  status: RunStatus;
  /** Hash of the header: the chain's root. */
  rootHash: string;
  /** Hash of the last event, or the root when the run has none yet. */
  headHash: string;
  /** Hash over the head and the ending; null until the run ends. */
  sealHash: string | null;
  eventCount: number;
  ending: RunEnding | null;
}

/**
 * Whether a run's status is one its sealed ending allows: an ended run's status is its ending's;
 * a run without an ending is still `recording`, or `incomplete` when its writer died (the store
 * marks that on open, without a seal). Anything else is a status changed behind the chain's back.
 */
export function statusAgreesWithEnding(status: RunStatus, ending: RunEnding | null): boolean {
  return ending === null ? status === 'recording' || status === 'incomplete' : status === ending.status;
}
