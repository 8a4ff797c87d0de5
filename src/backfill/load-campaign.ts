import type { CampaignArm, CampaignResultRecord, Store } from '../store/index.ts';
import {
  type ArmResult,
  armResultSchema,
  type CampaignItem,
  CampaignNotFoundError,
  type CampaignPlan,
  campaignItemSchema,
  campaignPlanSchema,
  parseStored,
} from './campaign-types.ts';
import { expandItem } from './compact-items.ts';

export interface LoadedCampaign {
  campaignId: string;
  createdAt: number;
  plan: CampaignPlan;
  items: Array<{ itemId: string; chunk: number; arms: CampaignArm[]; item: CampaignItem }>;
  results: Array<Omit<CampaignResultRecord, 'result'> & { result: ArmResult }>;
}

/** Reads a campaign's plan alone, validated; an unknown id names the known ones. */
export async function loadCampaignPlan(store: Store, campaignId: string): Promise<{ createdAt: number; plan: CampaignPlan }> {
  const campaign = await store.campaigns.get(campaignId);
  if (!campaign)
    throw new CampaignNotFoundError(
      campaignId,
      (await store.campaigns.list()).map((known) => known.campaignId),
      store.location,
    );
  return { createdAt: campaign.createdAt, plan: parseStored(campaignPlanSchema(), campaign.plan, `The plan of campaign ${campaignId}`) };
}

/** Reads a campaign with its items and results, validated. */
export async function loadCampaign(store: Store, campaignId: string): Promise<LoadedCampaign> {
  const { createdAt, plan } = await loadCampaignPlan(store, campaignId);
  const items = (await store.campaigns.items(campaignId)).map((record) => ({
    itemId: record.itemId,
    chunk: record.chunk,
    arms: record.arms,
    item: parseStored(campaignItemSchema(), expandItem(record.itemId, record.item, plan.itemDefaults), `Item ${record.itemId} of campaign ${campaignId}`),
  }));
  const results = (await store.campaigns.results(campaignId)).map((record) => ({
    ...record,
    result: parseStored(armResultSchema(), record.result, `A result of campaign ${campaignId}`),
  }));
  return { campaignId, createdAt, plan, items, results };
}
