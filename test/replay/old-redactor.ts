import { createHmac } from 'node:crypto';
import type { RedactionOptions, Redactor } from '../../src/record/index.ts';

/**
 * The redactor as it was before RecorderFlag.WideRedaction (commit bab4bce), without its memo:
 * credential headers and query parameters by a short list of names (a query value became
 * `[redacted]`), userinfo dropped from a URL, PII rules on strings; nothing else. Tests record
 * with it to make the tapes that recorder wrote.
 */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'set-cookie', 'x-auth-token']);
const CREDENTIAL_NAME = /(^|[-_])(auth|token|secret|password|passwd|api[-_]?key|key|session|signature|sig)($|[-_])/i;
const TOKEN = /\[redacted:[a-z0-9_.-]+:[0-9a-f]{12}\]/g;

export function createOldRedactor(options: RedactionOptions): Redactor {
  const patternRules = (options.rules ?? [])
    .filter((rule): rule is { name: string; pattern: RegExp } => 'pattern' in rule)
    .map((rule) => ({ name: rule.name, pattern: rule.pattern.global ? rule.pattern : new RegExp(rule.pattern.source, `${rule.pattern.flags}g`) }));
  const fieldRules = new Map(
    (options.rules ?? []).filter((rule): rule is { name: string; field: string } => 'field' in rule).map((rule) => [rule.field, rule.name]),
  );
  const token = (name: string, secret: string) => `[redacted:${name}:${createHmac('sha256', options.salt).update(secret).digest('hex').slice(0, 12)}]`;

  function text(input: string): string {
    if (patternRules.length === 0) return input;
    const parts = input.split(TOKEN);
    const tokens = input.match(TOKEN) ?? [];
    return parts
      .map((part) => {
        let replaced = part;
        for (const rule of patternRules) replaced = replaced.replace(rule.pattern, (match) => token(rule.name, match));
        return replaced;
      })
      .map((part, index) => part + (tokens[index] ?? ''))
      .join('');
  }

  function walk(input: unknown): unknown {
    if (typeof input === 'string') return text(input);
    if (Array.isArray(input)) return input.map(walk);
    if (input && typeof input === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, member] of Object.entries(input)) {
        const fieldRule = fieldRules.get(key);
        TOKEN.lastIndex = 0;
        if (fieldRule !== undefined && member !== null && member !== undefined && !(typeof member === 'string' && TOKEN.test(member))) {
          out[key] = token(fieldRule, typeof member === 'string' ? member : JSON.stringify(member));
        } else out[key] = walk(member);
        TOKEN.lastIndex = 0;
      }
      return out;
    }
    return input;
  }

  function value<T>(input: T): T {
    if (patternRules.length === 0 && fieldRules.size === 0) return input;
    return walk(input) as T;
  }

  return {
    hasRules: patternRules.length > 0 || fieldRules.size > 0,
    headers(headers) {
      const out: Record<string, string> = {};
      for (const [name, headerValue] of headers) {
        const lower = name.toLowerCase();
        if (CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME.test(lower)) continue;
        out[lower] = text(headerValue);
      }
      return out;
    },
    url(url) {
      const parsed = new URL(url);
      let changed = false;
      for (const name of [...parsed.searchParams.keys()]) {
        if (CREDENTIAL_NAME.test(name)) {
          parsed.searchParams.set(name, '[redacted]');
          changed = true;
        }
      }
      parsed.username = '';
      parsed.password = '';
      return changed || url.includes('@') ? parsed.toString() : url;
    },
    value,
    text,
    ownedValueInSlices: async (owned) => value(owned),
    textInSlices: async (input) => text(input),
  };
}
