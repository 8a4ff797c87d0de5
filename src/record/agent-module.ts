import type { Recorder } from './recorder.ts';
import type { PiiRule } from './redaction.ts';

/**
 * The shape of an agent module that retrial can record and (later) replay: a plain TypeScript
 * or JavaScript file whose default export (or `agent` export) is an AgentDefinition. `create`
 * receives the recorder (its `fetch`, `tool`, `decide`...) and returns the function that handles
 * one input. Everything non-deterministic the agent touches goes through `context.rec`.
 */
export interface AgentDefinition<I = unknown, O = unknown, Services = unknown> {
  /** Stable name, stored in every run header. */
  name: string;
  /** Version of the agent's code, stored in every run header. */
  codeVersion: string;
  /**
   * PII rules the recorder applies to everything this agent sends and receives. Part of the agent
   * because replay must redact the replayed requests the same way to compare them with the tape.
   */
  piiRules?: readonly PiiRule[];
  create(context: AgentContext<Services>): (input: I) => Promise<O>;
}

export interface AgentContext<Services = unknown> {
  rec: Recorder;
  /** Environment the agent reads its endpoints from (model base URL, keys). */
  env: Record<string, string | undefined>;
  /** The world the agent's tools act on, where the host provides one (e.g. the demo's accounts). */
  services?: Services;
}

/** Identity function that gives an agent module its types. */
export function defineAgent<I, O, Services = unknown>(definition: AgentDefinition<I, O, Services>): AgentDefinition<I, O, Services> {
  return definition;
}
