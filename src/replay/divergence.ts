import { RetrialError } from '../tape/index.ts';

/**
 * How a replay can differ from its tape. Each is data: the CLI text, the API JSON and the UI's
 * diff tree are separate renderers of the same value.
 */
export const DIVERGENCE_CODES = [
  'MISSING_CALL',
  'EXTRA_RECORDED',
  'NAME_MISMATCH',
  'PAYLOAD_MISMATCH',
  'ORDER_MISMATCH',
  'UNSANCTIONED_NONDETERMINISM',
  'OUTPUT_MISMATCH',
] as const;
export type DivergenceCode = (typeof DIVERGENCE_CODES)[number];

/** One field that differs between the recorded and the replayed value. */
export interface FieldDifference {
  /** JSON path, e.g. `messages[0].content[0].text`. */
  path: string;
  expected: unknown;
  received: unknown;
}

export interface Divergence {
  code: DivergenceCode;
  /** Seq of the recorded event involved, or null when the tape has none (a new call). */
  seq: number | null;
  /** Causal key of the call, as taken in the replay (or recorded, for EXTRA_RECORDED). */
  causalKey: string;
  /** One sentence that says what differs. */
  message: string;
  /** Field-level differences, for payload and output mismatches. */
  differences: FieldDifference[];
  /** Where in the agent's code the replayed call was made (`file#function`), when known. */
  site: string | null;
  /** Where the recorded call was made, when the tape knows. */
  recordedSite: string | null;
}

/**
 * A request refused while a replay, fork or explain sealed the process, made outside any run (a
 * timer, a tracing exporter or a telemetry flush an SDK started): not the agent's call, so not a
 * divergence, but it did try to leave the process.
 */
export interface RefusedRequest {
  /** Where it was going: a URL, `tcp://host:port` or `unix:path`. */
  target: string;
  /** The code that made it (`file#function`, as divergences name sites), when outside retrial and node_modules. */
  site: string | null;
}

/** One short line per code, for the CLI; the parity test checks every code has one. */
export const DIVERGENCE_TITLES: Record<DivergenceCode, string> = {
  MISSING_CALL: 'the replay made a call the tape does not have',
  EXTRA_RECORDED: 'the tape has a call the replay never made',
  NAME_MISMATCH: 'the replay called a different tool or model than the tape at this point',
  PAYLOAD_MISMATCH: 'the same call was made with different arguments',
  ORDER_MISMATCH: 'the calls were made in a different order',
  UNSANCTIONED_NONDETERMINISM: 'the code read the clock, randomness or the network outside the recorder',
  OUTPUT_MISMATCH: 'the run ended with a different output or decision',
};

/** Thrown into the agent at the first divergence of a strict replay, and by `replayRunOrThrow`. */
export class ReplayDivergenceError extends RetrialError {
  readonly divergences: Divergence[];
  constructor({ divergences }: { divergences: Divergence[] }) {
    const first = divergences[0];
    super({ code: 'REPLAY_DIVERGED', message: first ? `${first.code} at ${first.causalKey}: ${first.message}` : 'replay diverged' });
    this.name = 'ReplayDivergenceError';
    this.divergences = divergences;
  }
}

/** A network request the tape does not serve; replay never falls back to the live world. */
export class EgressBlockedError extends RetrialError {
  constructor({ url }: { url: string }) {
    super({ code: 'EGRESS_BLOCKED', message: `replay blocked a network request to ${url}: the tape does not serve it and replay never goes live` });
    this.name = 'EgressBlockedError';
  }
}

/**
 * The agent module's `create` threw while a replayer built the agent: nothing can be replayed
 * with it, so a batch stops here rather than report it once per run. Code USAGE: the module
 * named on the command line is what to fix.
 */
export class AgentCreateError extends RetrialError {
  constructor({ agent, cause }: { agent: string; cause: unknown }) {
    super({
      code: 'USAGE',
      message: `the agent ${agent}'s create() threw: ${cause instanceof Error ? cause.message : String(cause)}. Replay passes it this process's environment (or the env option); nothing leaves the process, so endpoints and keys need not be real: set placeholders, or make create() work without them.`,
      cause,
    });
    this.name = 'AgentCreateError';
  }
}
