import { lazySchema } from '../lazy-schema.ts';

/** Fields every event carries, whatever its kind. */
export const eventBaseShape = lazySchema((z) => ({
  /** Position in the run, from 0, gap-free. */
  seq: z.number().int().nonnegative(),
  /**
   * Causal key `parent/kind:name#ordinal`: where in the agent's control flow the call happened.
   * The ordinal counts calls of the same kind and name under the same parent and is taken
   * synchronously when the call starts, so concurrent calls keep a stable key.
   */
  key: z.string().min(1),
  /** Run clock (ms since epoch) when the call started. */
  at: z.number(),
  /** Wall time the call took, in ms; 0 for instantaneous reads. */
  durationMs: z.number().nonnegative(),
  /** Where the agent's code made the call (`path#function`), for model, tool and retrieval calls. */
  site: z.string().optional(),
  /**
   * For model, tool and retrieval calls: how many events the run had when the call started. Seq
   * is the order calls finished in, which concurrent calls may swap; this is where each started,
   * so replay can tell calls made in another order from calls that merely finished in one.
   * Absent on tapes recorded before 2026-12-06.
   */
  startedAfter: z.number().int().nonnegative().optional(),
}));
