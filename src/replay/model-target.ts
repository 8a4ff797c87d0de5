import { RetrialError } from '../tape/index.ts';

/** Where resample, fork and backfill send a request: `provider:name`, e.g. `sim:support-sim-2026-04-01`. */
export interface ModelTarget {
  provider: 'sim' | 'openai' | 'anthropic' | 'gemini';
  /** Model name sent in the request body. */
  model: string;
}

export class ModelTargetError extends RetrialError {
  constructor(message: string) {
    super({ code: 'USAGE', message });
    this.name = 'ModelTargetError';
  }
}

export function parseModelTarget(value: string, flag = '--model'): ModelTarget {
  const separator = value.indexOf(':');
  const provider = separator === -1 ? '' : value.slice(0, separator);
  const model = value.slice(separator + 1);
  if ((provider !== 'sim' && provider !== 'openai' && provider !== 'anthropic' && provider !== 'gemini') || !model) {
    throw new ModelTargetError(
      `${flag} "${value}" must be provider:name with provider sim, openai, anthropic or gemini (e.g. sim:support-sim, openai:gpt-4o-mini).`,
    );
  }
  return { provider, model };
}

/**
 * Base URL and key for a target, from the environment: OPENAI_BASE_URL / OPENAI_API_KEY (any
 * OpenAI-compatible endpoint), ANTHROPIC_BASE_URL / ANTHROPIC_API_KEY and GEMINI_BASE_URL /
 * GEMINI_API_KEY (or GOOGLE_API_KEY, as Google's client reads it). The key is sent, never stored.
 */
export function endpointFromEnvironment(
  target: ModelTarget,
  environment: Record<string, string | undefined> = process.env,
): { baseUrl: string; apiKey: string } {
  if (target.provider === 'openai') return { baseUrl: environment.OPENAI_BASE_URL ?? 'https://api.openai.com/v1', apiKey: environment.OPENAI_API_KEY ?? '' };
  if (target.provider === 'anthropic')
    return { baseUrl: environment.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com', apiKey: environment.ANTHROPIC_API_KEY ?? '' };
  if (target.provider === 'gemini')
    return {
      baseUrl: environment.GEMINI_BASE_URL ?? 'https://generativelanguage.googleapis.com',
      apiKey: environment.GEMINI_API_KEY ?? environment.GOOGLE_API_KEY ?? '',
    };
  throw new ModelTargetError('the sim provider runs in-process; it has no endpoint in the environment');
}

/** The provider whose environment variables reach a step recorded in this wire format (OpenAI for any compatible one). */
export function targetProviderOf(wireFormatId: string): ModelTarget['provider'] {
  if (wireFormatId === 'anthropic-messages') return 'anthropic';
  if (wireFormatId === 'gemini') return 'gemini';
  return 'openai';
}
