import type { Store } from '../store/index.ts';
import type { AgentDefinition } from './agent-module.ts';
import { originals } from './patch-globals.ts';
import { createRecorder, createRunId, type Recorder, type RecorderOptions } from './recorder.ts';

export interface RecordAgentOptions<Services> extends Omit<RecorderOptions, 'store' | 'agent' | 'codeVersion' | 'redaction' | 'serve'> {
  /** Where runs are written; leave it out to send them to a collector (`collector`, or RETRIAL_URL and RETRIAL_TOKEN). */
  store?: Store;
  /**
   * What `create()` reads its endpoints and keys from; default `process.env`. Replay passes its own
   * process's environment to the same `create()`, and serves the model from the tape.
   */
  env?: Record<string, string | undefined>;
  /** The world the agent's tools act on, handed to `create()`. */
  services?: Services;
  /**
   * Salt of redaction hashes; default RETRIAL_REDACTION_SALT, else the `redaction-salt` file beside
   * an embedded store (created once, then reused). The PII rules are the agent module's.
   */
  redactionSalt?: string;
}

export interface HandleOptions {
  /** Ticket, customer, request ids: `retrial runs --subject` and run-id lookups find the run by them. */
  externalIds?: Record<string, string>;
  /** The run's id; default a new one. Choose it to know the id even when the agent throws. */
  runId?: string;
}

/** One input handled and recorded: what the agent returned and the run it was recorded as. */
export interface HandledRun<O> {
  output: O;
  runId: string;
}

/** An agent module recording every input a long-running service hands it, through one recorder. */
export interface AgentRecording<I, O> {
  readonly recorder: Recorder;
  /** Runs the agent on one input as one recorded run. The agent's own errors reach the caller unchanged. */
  handle(input: I, options?: HandleOptions): Promise<HandledRun<O>>;
  /** Resolves when every run recorded so far is durable (call it before the service exits). */
  flush(): Promise<void>;
}

/**
 * Records a `defineAgent` module the way a service runs it: `create()` once, with one recorder
 * and the service's environment, then one recorded run per request, concurrent requests
 * included. The same module replays those runs with `retrial replay --agent <module>`.
 */
export async function recordAgent<I, O, Services>(
  agent: AgentDefinition<I, O, Services>,
  options: RecordAgentOptions<Services>,
): Promise<AgentRecording<I, O>> {
  const { store, env, services, redactionSalt, ...recorderOptions } = options;
  const recorder = createRecorder({
    ...recorderOptions,
    ...(store ? { store } : {}),
    agent: agent.name,
    codeVersion: agent.codeVersion,
    // Given as undefined (an unset variable) is an error in createRecorder; left out takes the default.
    redaction: 'redactionSalt' in options ? { salt: redactionSalt, rules: agent.piiRules } : { rules: agent.piiRules },
  });
  const handler = await agent.create({ rec: recorder, env: env ?? process.env, services });
  return {
    recorder,
    async handle(input, handleOptions = {}) {
      const runId = handleOptions.runId ?? createRunId(originals.dateNow());
      const output = await recorder.run(input, (value) => handler(value), { runId, externalIds: handleOptions.externalIds });
      return { output, runId };
    },
    flush: () => recorder.flush(),
  };
}
