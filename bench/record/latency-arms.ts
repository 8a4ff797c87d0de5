/**
 * Arm 1 of the benchmark: added latency per non-streaming model call.
 *
 * Three arms, one real `openai` client each (maxRetries 0), all against the same simulator:
 *   baseline: Node's native fetch, nothing recorded;
 *   retrial:  `rec.fetch`, calls inside `rec.run` (one run per block of `callsPerRun` calls);
 *   peer:     Polly recording through its fetch adapter (one recording per block).
 * Iteration i sends the same body to all three arms. Only the `create()` call is timed; the end
 * of each block (retrial's run flush, Polly's HAR write) is timed separately and reported
 * amortized per call, since a real app pays it too. See `Interleave` for the two orders.
 */
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Recorder } from '../../src/record/index.ts';
import { NATIVE_FETCH, pollyRoutedFetch, startPollySession } from './peer-polly.ts';
import { nowMs, timeMs } from './percentiles.ts';
import { openRunDriver, type RunDriver } from './retrial-run-driver.ts';

export const ARMS = ['baseline', 'retrial', 'peer'] as const;
export type Arm = (typeof ARMS)[number];

export interface ArmClients {
  baseline: OpenAI;
  retrial: OpenAI;
  peer: OpenAI;
}

export function createArmClients(baseUrl: string, rec: Recorder): ArmClients {
  const client = (fetch: typeof globalThis.fetch) => new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'sk-bench-not-a-key', fetch, maxRetries: 0 });
  return { baseline: client(NATIVE_FETCH), retrial: client(rec.fetch), peer: client(pollyRoutedFetch) };
}

/**
 * `call`: the three arms take turns on every iteration (the brief's method: noise hits all
 * arms alike). Its blind spot: retrial builds events and writes SQLite on a 20 ms timer, off the
 * caller's path but on the same thread, so that work lands on whichever call is in flight, often
 * a baseline or Polly call, and inflates *their* tails. `block`: the arms take turns per block
 * (one retrial run / one Polly recording), so each arm's deferred work stays inside its own
 * block; the wall time of a whole block, end of run included, gives the all-in cost per call.
 */
export type Interleave = 'call' | 'block';

export interface InterleavedLoopOptions {
  rec: Recorder;
  pollyDir: string;
  /** Prefix of Polly recording names and retrial run inputs. */
  label: string;
  interleave: Interleave;
  warmup: number;
  iterations: number;
  callsPerRun: number;
  /** Times one call of `arm` for iteration `index`; resolves to ms. */
  measure: (arm: Arm, index: number) => Promise<number>;
  /**
   * Waits for what the store does after a run ends (SQLite packs the run in the background).
   * Counted in the retrial arm's end of block, so that work is charged to retrial and not to
   * whichever arm runs next.
   */
  afterRunEnd?: () => Promise<void>;
}

export interface ArmSamples {
  interleave: Interleave;
  samples: Record<Arm, number[]>;
  /** ms spent ending each block (retrial: run end + flush; peer: polly.stop + HAR write). */
  blockEndMs: { retrial: number[]; peer: number[] };
  /** `block` only: wall ms of each arm's whole block, run start and end included. */
  blockMs: Record<Arm, number[]>;
}

/** The interleaved loop shared by the non-streaming and streaming measurements. */
export async function runInterleaved(options: InterleavedLoopOptions): Promise<ArmSamples> {
  const { rec, pollyDir, label, warmup, iterations, callsPerRun, measure } = options;
  const result: ArmSamples = {
    interleave: options.interleave,
    samples: { baseline: [], retrial: [], peer: [] },
    blockEndMs: { retrial: [], peer: [] },
    blockMs: { baseline: [], retrial: [], peer: [] },
  };
  const total = warmup + iterations;
  for (let blockStart = 0, block = 0; blockStart < total; blockStart += callsPerRun, block++) {
    const counted = blockStart >= warmup;
    const indexes = Array.from({ length: Math.min(callsPerRun, total - blockStart) }, (_, offset) => blockStart + offset);
    const openDriver = () => openRunDriver(rec, { bench: label, block: blockStart });
    const openPolly = () => startPollySession(pollyDir, `${label}-${blockStart}`);
    const call = async (arm: Arm, index: number, driver: RunDriver) => {
      const elapsed = arm === 'retrial' ? await driver.inRun(() => measure(arm, index)) : await measure(arm, index);
      if (index >= warmup) result.samples[arm].push(elapsed);
    };
    if (options.interleave === 'call') {
      const driver = openDriver();
      const polly = openPolly();
      for (const index of indexes) for (let turn = 0; turn < ARMS.length; turn++) await call(ARMS[(index + turn) % ARMS.length] as Arm, index, driver);
      const retrialEnd = await timeMs(async () => {
        await driver.end();
        await options.afterRunEnd?.();
      });
      const peerEnd = await timeMs(() => polly.stop());
      if (counted) result.blockEndMs.retrial.push(retrialEnd);
      if (counted) result.blockEndMs.peer.push(peerEnd);
      continue;
    }
    for (let turn = 0; turn < ARMS.length; turn++) {
      const arm = ARMS[(block + turn) % ARMS.length] as Arm;
      const start = nowMs();
      const driver = arm === 'retrial' ? openDriver() : undefined;
      const polly = arm === 'peer' ? openPolly() : undefined;
      for (const index of indexes) await call(arm, index, driver as RunDriver);
      const endStart = nowMs();
      if (driver) {
        await driver.end();
        await options.afterRunEnd?.();
      }
      await polly?.stop();
      if (!counted) continue;
      if (arm !== 'baseline') result.blockEndMs[arm].push(nowMs() - endStart);
      result.blockMs[arm].push(nowMs() - start);
    }
  }
  return result;
}

/** Non-streaming added latency for one request size. */
export async function measureCallLatency(options: {
  clients: ArmClients;
  rec: Recorder;
  pollyDir: string;
  label: string;
  interleave: Interleave;
  makeRequest: (index: number) => ChatCompletionCreateParamsNonStreaming;
  warmup: number;
  iterations: number;
  callsPerRun: number;
  afterRunEnd?: () => Promise<void>;
}): Promise<ArmSamples> {
  const { clients, makeRequest } = options;
  return runInterleaved({
    ...options,
    measure: async (arm, index) => {
      const body = makeRequest(index);
      const start = nowMs();
      const completion = await clients[arm].chat.completions.create(body);
      const elapsed = nowMs() - start;
      if (!completion.choices[0]) throw new Error(`${arm}: the simulator returned no choice`);
      return elapsed;
    },
  });
}
