/**
 * `retrial/backfill`: campaigns that re-try shipped decisions through a new model (plan, run,
 * compare, triage, remediate). Apart from the package root, which a recording service imports at
 * start-up, so that it does not load the campaign code and the YAML parser; the root keeps the
 * types (`import type { Correction } from 'retrial'` costs nothing at run time).
 */
export type {
  CampaignComparison,
  CampaignPlan,
  Correction,
  CorrectionHandler,
  PlanCampaignOptions,
  RunCampaignOptions,
  TriagePolicy,
} from './backfill/index.ts';
export {
  applyRemediation,
  applyTriage,
  campaignEndpoints,
  compareCampaign,
  loadCampaign,
  loadTriagePolicy,
  planCampaign,
  planRemediation,
  runCampaign,
  verifyAuditChain,
  writeCampaignReport,
} from './backfill/index.ts';
