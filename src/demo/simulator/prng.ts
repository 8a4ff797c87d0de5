import { createHash } from 'node:crypto';

/**
 * The simulator's only source of randomness: xoshiro128** seeded from sha256 of a seed text.
 * SIMULATOR ONLY. Everything random the simulated model does (its Gumbel sampling noise, the
 * demo's generated populations) comes from here, never from Math.random or crypto, so a
 * simulator started with the same seed replays the same sequence and the recorder's patches of
 * the global random sources never see a simulator draw.
 */
export interface SeededRandom {
  /** A double in [0, 1) with 53 random bits, like Math.random. */
  next(): number;
  /** A 32-bit unsigned integer. */
  nextUint32(): number;
}

/** xoshiro128** with its 128-bit state taken from sha256(seedText); 16 warm-up draws. */
export function createSeededRandom(seedText: string): SeededRandom {
  const digest = createHash('sha256').update(seedText).digest();
  const state = new Uint32Array([digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)]);
  // An all-zero state would emit zeros forever; sha256 makes it astronomically unlikely, but cheap to rule out.
  if (state.every((word) => word === 0)) state[0] = 0x9e3779b9;

  function nextUint32(): number {
    const s0 = state[0] as number;
    const s1 = state[1] as number;
    const s2 = state[2] as number;
    const s3 = state[3] as number;
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
    const shifted = (s1 << 9) >>> 0;
    const t2 = (s2 ^ s0) >>> 0;
    const t3 = (s3 ^ s1) >>> 0;
    state[1] = s1 ^ t2;
    state[0] = s0 ^ t3;
    state[2] = t2 ^ shifted;
    state[3] = rotateLeft(t3, 11);
    return result;
  }

  function next(): number {
    const high = nextUint32() >>> 5;
    const low = nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  for (let warmUp = 0; warmUp < 16; warmUp++) nextUint32();
  return { next, nextUint32 };
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

/** A standard Gumbel draw, -ln(-ln U). U is kept strictly inside (0, 1) so the result is finite. */
export function standardGumbel(random: SeededRandom): number {
  const uniform = random.next() + 2 ** -54;
  return -Math.log(-Math.log(uniform));
}
