import type { SamplingValue } from './wire-format.ts';

/**
 * Reads every sampling parameter named in `defaults` from a wire request body. A parameter the
 * caller sent is marked 'sent'; one left out (or sent as null, which providers treat as "use the
 * default") gets the provider's documented default and is marked 'default', so two requests that
 * behave the same compare equal whether or not the caller spelled the default out.
 */
export function fillSamplingDefaults(body: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, SamplingValue> {
  const sampling: Record<string, SamplingValue> = {};
  for (const [name, defaultValue] of Object.entries(defaults)) {
    const sentValue = body[name];
    sampling[name] = sentValue === undefined || sentValue === null ? { value: defaultValue, source: 'default' } : { value: sentValue, source: 'sent' };
  }
  return sampling;
}
