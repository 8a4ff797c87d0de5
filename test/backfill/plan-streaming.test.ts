import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PlanCampaignOptions, planCampaign } from '../../src/backfill/index.ts';
import { CANDIDATE_VERSION_ID, recordDemoHistory, startSimulatorServer } from '../../src/demo/index.ts';
import { openSqliteStore, type SqliteStore, type Store } from '../../src/store/index.ts';

/**
 * A plan reads the ledger a page at a time and checks each page's wire requests before reading
 * the next, so what it holds at once is bounded by the page, not the window (44,550 decisions
 * took 550 MiB when every request text was read at once). Observed through the store: the blobs
 * read between two pages of the ledger belong to that page's decisions only.
 */
const DAY = 86_400_000;
const END_AT = Date.UTC(2026, 10, 20);
const directory = mkdtempSync(join(tmpdir(), 'retrial-plan-streaming-'));
let store: SqliteStore;

beforeAll(async () => {
  store = await openSqliteStore(join(directory, 'history.db'));
  const simulator = await startSimulatorServer({ port: 0, seed: 'plan-streaming' });
  try {
    await recordDemoHistory({ store, modelBaseUrl: `${simulator.url}/v1`, runs: 60, endAt: END_AT, concurrency: 8, redactionSalt: 'salt' });
  } finally {
    await simulator.close();
  }
}, 120_000);

afterAll(async () => {
  await store.close();
  rmSync(directory, { recursive: true, force: true });
});

const options = (over: Partial<PlanCampaignOptions> = {}): PlanCampaignOptions => ({
  store,
  decisionType: 'refund.category',
  since: END_AT - 91 * DAY,
  until: END_AT + DAY,
  candidate: { provider: 'sim', model: CANDIDATE_VERSION_ID },
  actor: 'test',
  now: END_AT,
  seed: 'fixed',
  ...over,
});

/** The store as planning sees it, noting the blobs read after each page of the ledger. */
function watched(inner: Store): { store: Store; blobsPerPage: number[]; pageLimits: Array<number | undefined> } {
  const blobsPerPage: number[] = [];
  const pageLimits: Array<number | undefined> = [];
  const wrapper: Store = Object.assign(Object.create(inner) as Store, {
    listDecisions: async (filter: Parameters<Store['listDecisions']>[0]) => {
      if (filter?.includeSuperseded) {
        pageLimits.push(filter.limit);
        blobsPerPage.push(0);
      }
      return inner.listDecisions(filter);
    },
    getBlobs: async (hashes: readonly string[]) => {
      if (blobsPerPage.length) blobsPerPage[blobsPerPage.length - 1] = (blobsPerPage.at(-1) ?? 0) + hashes.length;
      return inner.getBlobs(hashes);
    },
    campaigns: inner.campaigns,
  });
  return { store: wrapper, blobsPerPage, pageLimits };
}

describe('planning a backfill streams the ledger', () => {
  it('reads wire requests page by page, and plans exactly what one page would', async () => {
    const whole = watched(store);
    const planned = await planCampaign(options({ store: whole.store }));
    expect(planned.plan.population).toBeGreaterThan(12);
    const paged = watched(store);
    const streamed = await planCampaign(options({ store: paged.store, pageSize: 4 }));

    // The same campaign, whatever the page size.
    const { createdBy: _a, ...wholePlan } = planned.plan;
    const { createdBy: _b, ...pagedPlan } = streamed.plan;
    expect({ ...pagedPlan, sample: null }).toEqual({ ...wholePlan, sample: null });
    const items = async (campaignId: string) => (await store.campaigns.items(campaignId)).map(({ campaignId: _, ...item }) => item);
    expect(await items(streamed.campaignId)).toEqual(await items(planned.campaignId));

    // Pages of at most 4 decisions, and the blobs read after each page are a page's worth.
    expect(paged.pageLimits.length).toBeGreaterThanOrEqual(Math.ceil(planned.plan.population / 4));
    expect(paged.pageLimits.every((limit) => limit === 4)).toBe(true);
    const total = whole.blobsPerPage.reduce((sum, count) => sum + count, 0);
    expect(total).toBeGreaterThan(0);
    expect(Math.max(...paged.blobsPerPage)).toBeLessThan(total / 3);
  }, 120_000);
});
