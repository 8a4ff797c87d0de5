/**
 * Runs the arms in interleaved rounds and keeps, per arm, the pass with the median rate.
 *
 * Why: this 2-core box is shared, and other work starts and stops for seconds at a time. One
 * timed pass per arm, arms run one after the other, let a burst land on one arm only (a first
 * version of this benchmark saw retrial at 119/s in one run and 75/s in the next). Here the arms
 * first run WARMUP_ROUNDS untimed rounds, then ROUNDS timed ones, each round visiting the arms in
 * a rotated order, so a burst hits several arms and the median pass of each arm ignores it.
 *
 * Why several warm-up rounds: retrial's rate keeps rising for about six passes of 197 replays
 * while V8 optimises a replay's long code path (zod, SQLite, the openai SDK, web streams). One
 * process replaying alone measured 200, 240, 337, 341, 325, 344, 412, 420, 432, 470/s in its first
 * ten passes; the floor's much shorter path is steady after one or two. Every arm gets the same
 * warm-up, in the same rotation as the timed rounds.
 */
import type { PassResult } from './retrial-arm.ts';
import { passLine, perSecond } from './summary.ts';

export interface ArmSpec<P extends PassResult = PassResult> {
  name: string;
  pass: () => Promise<P>;
}

export interface ArmPasses<P extends PassResult = PassResult> {
  /** The last untimed pass. */
  warmup: P;
  timed: P[];
  /** The timed pass with the median runs/s (the lower middle one for an even count). */
  median: P;
}

export async function runRounds<P extends PassResult>(
  arms: ReadonlyArray<ArmSpec<P>>,
  rounds: { warmup: number; timed: number },
  channels: readonly string[],
  log: (line: string) => void,
): Promise<Map<string, ArmPasses<P>>> {
  const warmups = new Map<string, P>();
  for (let round = 0; round < rounds.warmup; round++) {
    for (let index = 0; index < arms.length; index++) {
      const arm = arms[(round + index) % arms.length] as ArmSpec<P>;
      const pass = await arm.pass();
      warmups.set(arm.name, pass);
      log(passLine(`warm-up ${round + 1}  ${arm.name}`, pass, channels));
    }
  }
  const timed = new Map<string, P[]>(arms.map((arm) => [arm.name, []]));
  for (let round = 0; round < rounds.timed; round++) {
    for (let index = 0; index < arms.length; index++) {
      const arm = arms[(round + index) % arms.length] as ArmSpec<P>;
      const pass = await arm.pass();
      timed.get(arm.name)?.push(pass);
      log(passLine(`round ${round + 1}  ${arm.name}`, pass, channels));
    }
  }
  const result = new Map<string, ArmPasses<P>>();
  for (const arm of arms) {
    const passes = timed.get(arm.name) ?? [];
    const sorted = [...passes].sort((a, b) => perSecond(a) - perSecond(b));
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as P;
    result.set(arm.name, { warmup: warmups.get(arm.name) as P, timed: passes, median });
  }
  return result;
}
