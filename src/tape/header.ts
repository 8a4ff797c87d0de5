import type { z } from 'zod';
import { TAPE_FORMAT_VERSION } from './format-version.ts';
import { lazySchema } from './lazy-schema.ts';

/** Where a forked run came from. */
export const forkOriginSchema = lazySchema((z) =>
  z.looseObject({
    fromRun: z.string(),
    /** Sequence number of the parent's event at which the child went live. */
    atSeq: z.number().int().nonnegative(),
    /** What the fork changed (model, system prompt, sampling...). */
    overrides: z.record(z.string(), z.unknown()),
  }),
);

/** The header of a run: who ran, what code, when, with which recorder settings. */
export const runHeaderSchema = lazySchema((z) =>
  z.looseObject({
    formatVersion: z.literal(TAPE_FORMAT_VERSION),
    runId: z.string().min(1),
    /** The agent's name as the user registered it (e.g. "support-agent"). */
    agent: z.string().min(1),
    /** The agent's code version (git sha, package version...), as given by the user. */
    codeVersion: z.string(),
    /** Run clock at start, ISO-8601 UTC. With an injected time source this is the simulated time. */
    recordedAt: z.string(),
    /** Wall-clock time the recording process started the run, ISO-8601 UTC (always real time). */
    wallClockAt: z.string(),
    /** IANA time zone of the recording process. */
    timeZone: z.string(),
    /** Seed of the run's named random streams (hex). */
    seed: z.string(),
    /** RecorderFlag numbers that were on. */
    recorderFlags: z.array(z.number().int()),
    /** Ticket, customer and other ids of the outside world, for search. */
    externalIds: z.record(z.string(), z.string()),
    /** Recording library name and version. */
    recorder: z.string(),
    fork: forkOriginSchema().optional(),
  }),
);
export type RunHeader = z.infer<ReturnType<typeof runHeaderSchema>>;
export type ForkOrigin = z.infer<ReturnType<typeof forkOriginSchema>>;

/** How a run ended; `recording` while in flight, `incomplete` when its process died. */
export type RunStatus = 'recording' | 'complete' | 'failed' | 'incomplete';
