/**
 * Times the reads a person at a growing store waits on, through the Store interface the CLI uses:
 * a filtered `runs` page (limit 50, forks excluded, as `retrial runs` asks) for each filter, the
 * "N matching runs" count beside it, `decisions --type --since`, and loading one run for replay
 * (getTape). Counts are bounded at 1,001 as the CLI asks (a store without bounded counts counts
 * everything, which is what the figures before migration 7 show). Each query runs `rounds` times with its parameter rotated (another subject, another
 * week), so a cache warmed by one value does not serve the next.
 */
import type { RunFilter, Store } from '../../src/store/index.ts';

const DAY = 86_400_000;

export interface QueryTiming {
  name: string;
  p50: number;
  p95: number;
  /** Rows the last round returned (runs or decisions; for a count, the count). */
  rows: number;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

async function timeQuery(name: string, rounds: number, query: (round: number) => Promise<number>): Promise<QueryTiming> {
  const samples: number[] = [];
  let rows = 0;
  await query(rounds); // a warm-up round with a value the timed rounds do not use
  for (let round = 0; round < rounds; round++) {
    const started = nowMs();
    rows = await query(round);
    samples.push(nowMs() - started);
  }
  samples.sort((a, b) => a - b);
  return { name, p50: percentile(samples, 0.5), p95: percentile(samples, 0.95), rows };
}

export interface QueryParameters {
  agent: string;
  /** Customer and ticket ids present in the store. */
  subjects: string[];
  decisionType: string;
  decisionValue: string;
  modelServed: string;
  /** Latest run start, ms: windows are the weeks before it. */
  endAt: number;
  /** Run ids to load. */
  runIds: string[];
}

export async function measureQueries(store: Store, parameters: QueryParameters, rounds: number): Promise<QueryTiming[]> {
  const week = (round: number) => {
    const until = parameters.endAt - (round % 10) * 7 * DAY;
    return { since: until - 7 * DAY, until };
  };
  const pick = <T>(values: readonly T[], round: number) => values[(round * 7919) % values.length] as T;
  const filters: Array<[string, (round: number) => RunFilter]> = [
    ['none', () => ({})],
    ['agent', () => ({ agent: parameters.agent })],
    ['subject', (round) => ({ subject: pick(parameters.subjects, round) })],
    ['decision type', () => ({ decisionType: parameters.decisionType })],
    ['decision type=value', () => ({ decisionType: parameters.decisionType, decisionValue: parameters.decisionValue })],
    ['since/until (7 days)', (round) => week(round)],
    ['decision + since/until', (round) => ({ decisionType: parameters.decisionType, ...week(round) })],
    ['model served', () => ({ modelServed: parameters.modelServed })],
    ['status failed', () => ({ status: 'failed' })],
  ];
  const timings: QueryTiming[] = [];
  for (const [name, filterOf] of filters) {
    const page = (round: number): RunFilter => ({ ...filterOf(round), forks: 'exclude', limit: 50, offset: 0, order: 'desc' });
    timings.push(await timeQuery(`runs page: ${name}`, rounds, async (round) => (await store.listRuns(page(round))).length));
    // As `retrial runs` counts: up to 1,001, then it says "1,000+" (a backend may count exactly).
    timings.push(await timeQuery(`count: ${name}`, rounds, async (round) => store.countRuns({ ...filterOf(round), forks: 'exclude' }, { upTo: 1_001 })));
  }
  timings.push(
    await timeQuery(
      'decisions --type --since (7 days)',
      rounds,
      async (round) => (await store.listDecisions({ type: parameters.decisionType, since: week(round).since, limit: 50 })).length,
    ),
  );
  timings.push(
    await timeQuery('getTape (one run)', Math.max(rounds, 100), async (round) => (await store.getTape(pick(parameters.runIds, round))).eventTexts.length),
  );
  return timings;
}
