import { createHash } from 'node:crypto';

/**
 * sfc32, a small fast PRNG with a 128-bit state, seeded from sha256(run seed, version prefix,
 * stream name). One stream per call site means a new draw at one site does not shift the values
 * every other site sees. The recorded values are authoritative; the seed only makes them
 * regenerable.
 */
export class SeededStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string, streamName: string) {
    const digest = createHash('sha256').update(`${seed}\nrandom-v1\n${streamName}`).digest();
    this.a = digest.readUInt32LE(0);
    this.b = digest.readUInt32LE(4);
    this.c = digest.readUInt32LE(8);
    this.d = digest.readUInt32LE(12);
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A double in [0, 1) with 53 random bits, like Math.random. */
  nextFloat(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  fillBytes(target: Uint8Array): Uint8Array {
    for (let i = 0; i < target.length; i += 4) {
      const word = this.nextUint32();
      for (let j = 0; j < 4 && i + j < target.length; j++) target[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return target;
  }

  uuid(): string {
    const bytes = this.fillBytes(new Uint8Array(16));
    bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
    const hex = Buffer.from(bytes).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
