/**
 * Holds one `rec.run(...)` open and executes calls inside its scope on demand.
 *
 * Why: the arms are measured round-robin per iteration, but only the retrial arm may run inside
 * a run scope. Inside a scope the recorder routes `Date.now`, `Math.random` & co. through the
 * tape, so a baseline or Polly call made there would both be slowed by recording and add events
 * to retrial's run. With this driver the main loop stays outside any scope and hands each
 * retrial call to a loop that lives inside the run (AsyncLocalStorage follows the awaits there).
 */
import type { Recorder } from '../../src/record/index.ts';

export interface RunDriver {
  /** Runs `fn` inside the open run and returns what it returns. One call at a time. */
  inRun<T>(fn: () => Promise<T>): Promise<T>;
  /** Ends the run (retrial flushes it to the store) and resolves when that is durable. */
  end(): Promise<void>;
}

interface Job {
  fn: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export function openRunDriver(rec: Recorder, input: unknown): RunDriver {
  const jobs: Job[] = [];
  let wake: (() => void) | undefined;
  let closing = false;

  const finished = rec.run(input, async () => {
    for (;;) {
      while (jobs.length === 0 && !closing) await new Promise<void>((resolve) => (wake = resolve));
      const job = jobs.shift();
      if (!job) return { calls: 'done' };
      try {
        job.resolve(await job.fn());
      } catch (error) {
        job.reject(error);
      }
    }
  });

  const poke = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  return {
    inRun<T>(fn: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        jobs.push({ fn, resolve: resolve as (value: unknown) => void, reject });
        poke();
      });
    },
    async end() {
      closing = true;
      poke();
      await finished;
    },
  };
}
