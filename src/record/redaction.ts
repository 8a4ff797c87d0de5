import { createHmac } from 'node:crypto';

/**
 * The single choke point every recorded byte passes through before it is persisted. Credentials
 * are dropped outright; user PII rules replace matches with a token that keeps a salted hash, so
 * two recordings of the same email still match each other without storing the email.
 */

/** A user rule: a pattern over string values, or a field name whose whole value is redacted. */
export type PiiRule = { name: string; pattern: RegExp } | { name: string; field: string };

export interface RedactionOptions {
  /** Secret salt of the hashes in redaction tokens. Keep it out of the store. */
  salt: string;
  rules?: readonly PiiRule[];
}

/** Header names whose values are credentials; matched case-insensitively, plus CREDENTIAL_NAME. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'cookie', 'set-cookie', 'x-auth-token']);
const CREDENTIAL_NAME = /(^|[-_])(auth|token|secret|password|passwd|api[-_]?key|key|session|signature|sig)($|[-_])/i;
const TOKEN = /\[redacted:[a-z0-9_.-]+:[0-9a-f]{12}\]/g;

export interface Redactor {
  /** Drops credential headers; returns a new lower-cased header record. */
  headers(headers: Iterable<[string, string]>): Record<string, string>;
  /** Replaces credential query parameter values in a URL. */
  url(url: string): string;
  /** Applies PII rules to every string (and named field) inside a JSON value. Idempotent. */
  value<T>(value: T): T;
  /** Applies pattern rules to a text. Idempotent. */
  text(text: string): string;
  /** True when at least one PII rule is configured (so bodies must be walked). */
  readonly hasRules: boolean;
}

export function createRedactor(options: RedactionOptions): Redactor {
  // Made global once here, not per string: replace() with a global pattern replaces every match.
  const patternRules = (options.rules ?? [])
    .filter((rule): rule is { name: string; pattern: RegExp } => 'pattern' in rule)
    .map((rule) => ({ name: rule.name, pattern: rule.pattern.global ? rule.pattern : new RegExp(rule.pattern.source, `${rule.pattern.flags}g`) }));
  const fieldRules = new Map(
    (options.rules ?? []).filter((rule): rule is { name: string; field: string } => 'field' in rule).map((rule) => [rule.field, rule.name]),
  );
  const token = (name: string, secret: string) => `[redacted:${name}:${createHmac('sha256', options.salt).update(secret).digest('hex').slice(0, 12)}]`;

  // Long strings (system prompts, tool schemas) come back on every call of a run: redact each once.
  const memo = new Map<string, string>();
  function text(input: string): string {
    if (patternRules.length === 0) return input;
    if (input.length < 256) return redactText(input);
    const known = memo.get(input);
    if (known !== undefined) return known;
    const redacted = redactText(input);
    if (memo.size >= 256) memo.delete(memo.keys().next().value as string);
    memo.set(input, redacted);
    return redacted;
  }

  function redactText(input: string): string {
    // Existing tokens are kept verbatim so applying the rules twice changes nothing.
    const parts = input.split(TOKEN);
    const tokens = input.match(TOKEN) ?? [];
    let out = '';
    parts.forEach((part, index) => {
      let replaced = part;
      for (const rule of patternRules) replaced = replaced.replace(rule.pattern, (match) => token(rule.name, match));
      out += replaced + (tokens[index] ?? '');
    });
    return out;
  }

  function value<T>(input: T): T {
    if (patternRules.length === 0 && fieldRules.size === 0) return input;
    return walk(input) as T;
  }

  function walk(input: unknown): unknown {
    if (typeof input === 'string') return text(input);
    if (Array.isArray(input)) return input.map(walk);
    if (input && typeof input === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, member] of Object.entries(input)) {
        const fieldRule = fieldRules.get(key);
        if (fieldRule !== undefined && member !== null && member !== undefined && !(typeof member === 'string' && TOKEN.test(member))) {
          out[key] = token(fieldRule, typeof member === 'string' ? member : JSON.stringify(member));
        } else out[key] = walk(member);
        TOKEN.lastIndex = 0;
      }
      return out;
    }
    return input;
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
  };
}
