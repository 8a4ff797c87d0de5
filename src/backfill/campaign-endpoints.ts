import { wireFormats } from '../providers/index.ts';
import { createModelEndpoint, endpointFromEnvironment, type ModelEndpoint, type ModelTarget } from '../replay/index.ts';
import type { CampaignArm } from '../store/index.ts';
import { RetrialError } from '../tape/index.ts';
import type { CampaignPlan } from './campaign-types.ts';
import type { EndpointFor } from './execute-chunk.ts';

export interface EndpointSources {
  /** How to reach the `sim` provider (the simulator in this process, or over HTTP). */
  simulator?: { baseUrl: string; fetch?: typeof fetch };
  environment?: Record<string, string | undefined>;
  /** Attempts after the first for retryable failures. */
  retries?: number;
}

/** One endpoint per arm and wire format, made once: the base URL and key come from the environment. */
export function campaignEndpoints(plan: CampaignPlan, sources: EndpointSources): EndpointFor {
  const made = new Map<string, ModelEndpoint>();
  const targetOf = (arm: CampaignArm): ModelTarget =>
    arm === 'candidate' ? plan.candidate : { provider: plan.incumbent.provider, model: plan.incumbent.model ?? '(served version)' };
  return (arm, formatId) => {
    const target = targetOf(arm);
    const key = `${target.provider}\n${formatId}`;
    let endpoint = made.get(key);
    if (!endpoint) {
      const format = wireFormats.find((candidate) => candidate.id === formatId);
      if (!format) throw new RetrialError({ code: 'USAGE', message: `Backfill cannot send requests in the ${formatId} wire format.` });
      if (target.provider === 'sim' && !sources.simulator)
        throw new RetrialError({ code: 'USAGE', message: 'This campaign uses the simulator (sim:), but no simulator was given to the runner.' });
      const where =
        target.provider === 'sim'
          ? { baseUrl: sources.simulator?.baseUrl ?? '', apiKey: 'sim', fetch: sources.simulator?.fetch }
          : { ...endpointFromEnvironment(target, sources.environment), fetch: undefined };
      if (where.apiKey === '')
        throw new RetrialError({
          code: 'USAGE',
          message: `${target.provider.toUpperCase()}_API_KEY is not set; the ${arm} model ${target.provider}:${target.model} needs it (and ${target.provider.toUpperCase()}_BASE_URL for a compatible endpoint).`,
        });
      endpoint = createModelEndpoint({ format, baseUrl: where.baseUrl, apiKey: where.apiKey, fetch: where.fetch, retries: sources.retries });
      made.set(key, endpoint);
    }
    return endpoint;
  };
}
