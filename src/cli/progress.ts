import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A progress bar with rate and ETA on a terminal; elsewhere (CI, pipes) a plain line every five
 * seconds and at the end; nothing with --json, whose stdout is for the result alone.
 */
export function createProgress(label: string, unit: string, { json = false }: { json?: boolean } = {}): Progress {
  const started = performance.now();
  // A resumed job starts part done; its rate counts only this process's work.
  let base: number | undefined;
  const rate = (done: number) => ((done - (base ?? done)) / Math.max(0.001, (performance.now() - started) / 1000)).toFixed(0);
  if (json) return { update() {}, stop() {} };
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update(done, total) {
        base ??= done;
        if (done !== total && performance.now() - last < 5000) return;
        last = performance.now();
        process.stderr.write(`${label}: ${done}/${total} ${unit} (${rate(done)} ${unit}/s)\n`);
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(10)} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      hideCursor: true,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let barStarted = false;
  return {
    update(done, total) {
      base ??= done;
      if (!barStarted) {
        bar.start(total, done, { rate: '0' });
        barStarted = true;
      }
      bar.update(done, { rate: rate(done) });
    },
    stop() {
      if (barStarted) bar.stop();
      barStarted = false;
    },
  };
}
