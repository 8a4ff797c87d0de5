import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Store } from '../store/index.ts';
import { renderBackfillReport } from './backfill-report.ts';
import { type CampaignComparison, compareCampaign } from './compare-campaign.ts';
import { loadCampaign } from './load-campaign.ts';

export interface WrittenCampaignReport {
  comparison: CampaignComparison;
  markdownPath: string;
  jsonPath: string;
  /** The JSON written: the comparison with each flip flattened to the facts a reader needs. */
  json: Record<string, unknown>;
}

/** Default place of a campaign's report: `reports/` next to the store file, or in `.retrial/` for a store without one (memory, PostgreSQL). */
export function defaultReportPath(store: Store, campaignId: string): string {
  return join(store.file === undefined ? '.retrial' : dirname(store.file), 'reports', `${campaignId}.md`);
}

/** Compares the campaign as it stands (results, triage, verdicts) and writes its Markdown and JSON report. */
export async function writeCampaignReport(
  store: Store,
  campaignId: string,
  markdownPath = defaultReportPath(store, campaignId),
): Promise<WrittenCampaignReport> {
  const campaign = await loadCampaign(store, campaignId);
  const triage = await store.campaigns.triage(campaignId);
  const comparison = compareCampaign(campaign, {
    // No triage rows means not triaged yet, which the report says, rather than "no flips".
    triage: triage.length ? triage : undefined,
    verdicts: await store.campaigns.verdicts(campaignId),
  });
  const jsonPath = `${markdownPath.replace(/\.md$/, '')}.json`;
  await mkdir(dirname(markdownPath), { recursive: true, mode: 0o700 });
  // Owner-only, as the store is: the report names subjects and amounts.
  await writeFile(markdownPath, renderBackfillReport(comparison, { storeLocation: store.location }), { mode: 0o600 });
  const { flips, ...rest } = comparison;
  const json = {
    ...rest,
    flips: flips.map(({ item, ...flip }) => ({ ...flip, subject: item.subject, amount: item.amount, currency: item.currency, effectiveAt: item.effectiveAt })),
  };
  await writeFile(jsonPath, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
  return { comparison, markdownPath, jsonPath, json };
}
