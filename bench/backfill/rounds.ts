/**
 * Runs the arms in interleaved rounds and keeps, per arm, the pass with the median headline rate
 * (the same scheme as bench/replay/rounds.ts, for passes of different shapes).
 *
 * Why: this 2-core box is shared, and other work starts and stops for seconds at a time. Every
 * arm runs one untimed warm-up pass, then ROUNDS timed passes, each round visiting the arms in a
 * rotated order, so a burst of outside load hits several arms and the median pass ignores it.
 */

/** What every arm's pass reports; arms add their own figures. */
export interface TimedPass {
  /** The rate the median is chosen by (decisions/s, or requests/s for the latency arm). */
  headline: number;
  /** One printed line. */
  line: string;
  failures: string[];
}

export interface ArmSpec {
  name: string;
  pass: () => Promise<TimedPass>;
}

export interface ArmPasses {
  warmup: TimedPass;
  timed: TimedPass[];
  /** The timed pass with the median headline (the lower middle one for an even count). */
  median: TimedPass;
}

function logPass(log: (line: string) => void, label: string, pass: TimedPass): void {
  log(`${label}: ${pass.line}${pass.failures.length ? `; FAILURES ${pass.failures.length}` : ''}`);
  for (const failure of pass.failures.slice(0, 5)) log(`  FAILED ${failure}`);
}

export async function runRounds(arms: readonly ArmSpec[], rounds: number, log: (line: string) => void): Promise<Map<string, ArmPasses>> {
  const warmups = new Map<string, TimedPass>();
  for (const arm of arms) {
    const pass = await arm.pass();
    warmups.set(arm.name, pass);
    logPass(log, `warm-up  ${arm.name}`, pass);
  }
  const timed = new Map<string, TimedPass[]>(arms.map((arm) => [arm.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let index = 0; index < arms.length; index++) {
      const arm = arms[(round + index) % arms.length] as ArmSpec;
      const pass = await arm.pass();
      timed.get(arm.name)?.push(pass);
      logPass(log, `round ${round + 1}  ${arm.name}`, pass);
    }
  }
  const result = new Map<string, ArmPasses>();
  for (const arm of arms) {
    const passes = timed.get(arm.name) ?? [];
    const sorted = [...passes].sort((a, b) => a.headline - b.headline);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as TimedPass;
    result.set(arm.name, { warmup: warmups.get(arm.name) as TimedPass, timed: passes, median });
  }
  return result;
}
