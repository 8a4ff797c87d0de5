import { createHmac } from 'node:crypto';
import { hashJson } from '../tape/index.ts';

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

/**
 * Long strings (system prompts, tool descriptions) come back on every call of a run and in every
 * run of an agent, and the result depends only on the salt, the rules and the string. So one memo
 * per salt and rule set is shared by every redactor of the process (a replay makes a redactor per
 * run), bounded by characters, oldest out first. It lives in memory only, like the salt.
 */
const MEMO_FROM_CHARS = 128;
const MEMO_MAX_CHARACTERS = 16 * 1024 * 1024;
const memos = new Map<string, RedactionMemo>();
let memoCharacters = 0;

class RedactionMemo {
  private readonly entries = new Map<string, string>();

  get(input: string): string | undefined {
    return this.entries.get(input);
  }

  remember(input: string, redacted: string): string {
    if (input.length > MEMO_MAX_CHARACTERS / 64) return redacted;
    this.entries.set(input, redacted);
    memoCharacters += input.length + redacted.length;
    while (memoCharacters > MEMO_MAX_CHARACTERS) evictOldest();
    return redacted;
  }

  clear(): void {
    this.entries.clear();
  }

  /** Drops this memo's oldest entry; false when it has none. */
  evictOne(): boolean {
    const oldest = this.entries.entries().next().value;
    if (!oldest) return false;
    this.entries.delete(oldest[0]);
    memoCharacters -= oldest[0].length + oldest[1].length;
    return true;
  }
}

/** Empties every memo (benchmarks measure passes that start as a new process would). */
export function forgetRedactionMemos(): void {
  // Cleared, not dropped: redactors that exist keep theirs, which must stay evictable.
  for (const memo of memos.values()) memo.clear();
  memoCharacters = 0;
}

/** Drops the oldest entry of the first memo that has one (there is one memo per agent in practice). */
function evictOldest(): void {
  for (const memo of memos.values()) if (memo.evictOne()) return;
  memoCharacters = 0;
}

function sharedMemo(salt: string, rules: ReadonlyArray<{ name: string; pattern: RegExp }>): RedactionMemo {
  const signature = JSON.stringify([salt, rules.map((rule) => [rule.name, rule.pattern.source, rule.pattern.flags])]);
  let memo = memos.get(signature);
  if (!memo) {
    memo = new RedactionMemo();
    memos.set(signature, memo);
  }
  return memo;
}

/** `test` on a global pattern moves lastIndex; this leaves it at 0 for the next caller. */
function matches(pattern: RegExp, input: string): boolean {
  pattern.lastIndex = 0;
  const found = pattern.test(input);
  pattern.lastIndex = 0;
  return found;
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

  const memo = sharedMemo(options.salt, patternRules);
  function text(input: string): string {
    if (patternRules.length === 0) return input;
    if (input.length < MEMO_FROM_CHARS) return redactText(input);
    return memo.get(input) ?? memo.remember(input, redactText(input));
  }

  function redactText(input: string): string {
    // Rules apply to the text between existing tokens; an anchored pattern can match a piece and
    // not the whole, so the shortcut holds only for a text without tokens.
    if (!input.includes('[redacted:') && !patternRules.some((rule) => matches(rule.pattern, input))) return input;
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

/**
 * Before 2026-11-26 recorders redacted tool and retrieval arguments without taking them as JSON
 * first, so with PII rules a Date, URL or Buffer argument was walked as a plain object ({} for a
 * Date). Tapes recorded then hashed that. This gives that older hash, lazily (undefined without
 * rules, where both ways agree), so replay and fork can still match such tapes.
 */
export function legacyArgsHash(redactor: Redactor, args: unknown[]): (() => string) | undefined {
  if (!redactor.hasRules) return undefined;
  return () => {
    try {
      return hashJson(redactor.value(args));
    } catch {
      return '';
    }
  };
}
