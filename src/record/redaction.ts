import { createHmac } from 'node:crypto';
import { hashJson } from '../tape/index.ts';
import { originals } from './patch-globals.ts';

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

/**
 * Whether a header or query parameter name suggests a credential: one of its words (split at any
 * separator and at camelCase humps, any case) is or ends in token, key, secret, auth, password,
 * session, signature, credential, cookie... (`X-Goog-Api-Key`, `client-secret`, `X_AUTH_TOKEN`,
 * `sessionid`, `accessToken`). Plurals are not: `max_tokens` and `x-ratelimit-remaining-tokens`
 * are counts, not credentials.
 */
const CREDENTIAL_WORD =
  /^(?:[a-z0-9]*(?:token|key|secret|auth|password|passwd|pwd|passphrase|session|signature|credentials?|cookie)(?:id)?|authorization|sig|sid|pass|jwt|otp)$/;
/** Names with a credential word that are not secret: dropping them would lose what a replay reads. */
const NOT_CREDENTIAL_WORDS = new Set(['idempotency']);

export function isCredentialName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((word) => CREDENTIAL_WORD.test(word)) && !words.some((word) => NOT_CREDENTIAL_WORDS.has(word));
}

const TOKEN = /\[redacted:[a-z0-9_.-]+:[0-9a-f]{12}\]/g;
const WHOLE_TOKEN = /^\[redacted:[a-z0-9_.-]+:[0-9a-f]{12}\]$/;

/**
 * Values shaped like well-known credentials, redacted wherever they appear in stored text. Each
 * has a prefix or structure ordinary words do not (20+ characters after `sk-`, a digit in a bearer
 * token), so prose and model requests are left alone. `keep` is a leading group kept in clear.
 */
const KEY_SHAPES: ReadonlyArray<{ name: string; pattern: RegExp; keep?: boolean }> = [
  { name: 'private-key', pattern: /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[^"]*?-----END \1PRIVATE KEY-----/g },
  { name: 'api-key', pattern: /(?<![A-Za-z0-9_-])sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { name: 'api-key', pattern: /(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { name: 'github-token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})/g },
  { name: 'slack-token', pattern: /(?<![A-Za-z0-9_])xox[abposr]-[A-Za-z0-9-]{10,}/g },
  { name: 'aws-key', pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  { name: 'google-key', pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{30,}/g },
  { name: 'jwt', pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  { name: 'bearer', pattern: /(?<![A-Za-z0-9])([Bb]earer\s+)(?=[A-Za-z0-9._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{12,}/g, keep: true },
  // name=value outside a URL (a connection string, a log line): the name is kept, the value goes.
  {
    name: 'credential',
    // Not a bare `token=` nor a value with brackets: code a model writes (`token=get_token()`) stays.
    pattern:
      /(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[_-])*(?:password|passwd|pwd|secret|api_?key|apikey|(?:access|auth|refresh|session|id)_?token)=)[^\s&"'<>;,\\()[\]{}]+/gi,
    keep: true,
  },
];
/**
 * A cheap test that a text may hold one of KEY_SHAPES or a URL: a piece every one of them has.
 * Case-sensitive and short pieces, because irregexp scans long alternations of literals slowly.
 */
const MAY_HOLD_SECRET = /k[-_]|gh[pousr]_|_pat_|xox|[KS]IA|AIza|eyJ|earer|:\/\/|-----|[dDtTyYnN]=/;
/** A URL inside a text; it ends where JSON, HTML, quotes or whitespace would end it. */
const URL_IN_TEXT = /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`\\]+/g;
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/s;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Percent-encodes the text between redaction tokens; the tokens stay readable. */
function encodeKeepingTokens(text: string): string {
  const tokens = text.match(TOKEN) ?? [];
  return text
    .split(TOKEN)
    .map((part, index) => encodeURIComponent(part) + (tokens[index] ?? ''))
    .join('');
}

/** Applies `replace` to the text between existing tokens only, so a token is never redacted again. */
function outsideTokens(input: string, replace: (part: string) => string): string {
  if (!input.includes('[redacted:')) return replace(input);
  const tokens = input.match(TOKEN) ?? [];
  return input
    .split(TOKEN)
    .map((part, index) => replace(part) + (tokens[index] ?? ''))
    .join('');
}

export interface Redactor {
  /** Drops credential headers (by name, see isCredentialName); redacts the others' values as text. */
  headers(headers: Iterable<[string, string]>): Record<string, string>;
  /** A URL as stored: see `text`, of which it is the part about URLs. Never throws. */
  url(url: string): string;
  /**
   * `text` applied to every string inside a JSON value, and field rules to its members. The
   * shape is kept: same keys in the same order (`__proto__` included, as data), arrays stay
   * arrays; a value with nothing to redact comes back as the same object. Idempotent.
   */
  value<T>(value: T): T;
  /**
   * A text as stored. URLs in it lose their userinfo, and credential query values become tokens;
   * values shaped like known keys (sk-..., ghp_..., AKIA..., JWTs, bearer tokens) become tokens;
   * then the user's pattern rules apply, to URL path segments and query values decoded too.
   * Deterministic and idempotent: replay redacts the replayed request the same way to match it.
   */
  text(text: string): string;
  /**
   * `value` for a large value the recorder owns (its own snapshot): the same result, written into
   * that copy in place, a few milliseconds at a time, so a 50 MB tool result does not hold the
   * event loop while it is redacted.
   */
  ownedValueInSlices<T>(owned: T): Promise<T>;
  /**
   * `text` for a long text, redacted a chunk of lines at a time, yielding between chunks: the same
   * result (see splitsAtLineFeeds and nextCut for why), without holding the event loop.
   */
  textInSlices(text: string): Promise<string>;
  /** True when at least one PII rule is configured. */
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

/** Tuning for tests: how many characters a chunk of a long text holds at least. */
export interface RedactorTuning {
  chunkChars?: number;
}

export function createRedactor(options: RedactionOptions, tuning: RedactorTuning = {}): Redactor {
  const chunkChars = tuning.chunkChars ?? CHUNK_CHARS;
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
    if (input.length < MEMO_FROM_CHARS) return redactText(input);
    // Without user rules most long texts (prompts) fail the cheap test, which costs less than a memo lookup.
    if (patternRules.length === 0 && fieldRules.size === 0 && !MAY_HOLD_SECRET.test(input)) return input;
    return memo.get(input) ?? memo.remember(input, redactText(input));
  }

  /**
   * One pass can make a text another pass would read differently (a rule's token ends a URL's
   * scheme, so a URL nested in it stands alone next time): passes repeat until nothing changes,
   * which keeps redaction idempotent. A text with nothing to redact takes one pass.
   */
  function redactText(input: string, jsonFields = true): string {
    let current = input;
    for (let pass = 0; pass < 4; pass++) {
      const next = redactOnce(current, jsonFields);
      if (next === current) return current;
      current = next;
    }
    return current;
  }

  function redactOnce(input: string, jsonFields: boolean): string {
    let out = jsonFields && fieldRules.size > 0 ? redactJsonFields(input) : input;
    if (MAY_HOLD_SECRET.test(out)) {
      // Whole URLs, tokens and all: redactUrl leaves a token where it is, and a URL can hold several.
      if (out.includes('://')) out = out.replace(URL_IN_TEXT, redactUrl);
      out = redactKeyShapes(out);
    }
    return applyRules(out);
  }

  /**
   * Field rules name members of JSON values, and some JSON arrives as text (an HTTP body, a
   * model's response): such a text is parsed, and written again only when a member was redacted.
   */
  function redactJsonFields(input: string): string {
    const first = input.trimStart().charCodeAt(0);
    if (first !== 123 /* { */ && first !== 91 /* [ */) return input;
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch {
      return input;
    }
    const redacted = walk(parsed);
    return redacted === parsed ? input : JSON.stringify(redacted);
  }

  /** Known key shapes, between existing tokens. */
  function redactKeyShapes(input: string): string {
    let out = input;
    for (const shape of KEY_SHAPES) {
      shape.pattern.lastIndex = 0;
      if (!shape.pattern.test(out)) continue;
      shape.pattern.lastIndex = 0;
      out = outsideTokens(out, (part) =>
        part.replace(shape.pattern, (match: string, kept: unknown) =>
          shape.keep && typeof kept === 'string' ? kept + token(shape.name, match.slice(kept.length)) : token(shape.name, match),
        ),
      );
    }
    return out;
  }

  /** The user's pattern rules, each between the tokens of the ones before (an anchored rule can match a piece). */
  function applyRules(input: string): string {
    if (patternRules.length === 0) return input;
    if (!input.includes('[redacted:') && !patternRules.some((rule) => matches(rule.pattern, input))) return input;
    let out = input;
    // An empty match hides nothing, and leaving it be keeps a text's redaction the same in chunks.
    for (const rule of patternRules)
      out = outsideTokens(out, (part) => part.replace(rule.pattern, (match) => (match === '' ? match : token(rule.name, match))));
    return out;
  }

  /** A decoded URL component (path segment, query value): key shapes and rules; undefined when unchanged. */
  function redactComponent(raw: string): string | undefined {
    const decoded = safeDecode(raw);
    const redacted = applyRules(MAY_HOLD_SECRET.test(decoded) ? redactKeyShapes(decoded) : decoded);
    return redacted === decoded ? undefined : encodeKeepingTokens(redacted);
  }

  /** `name=value&...`: credential names get a token, other values their components redacted. */
  function redactParameters(parameters: string): string {
    return parameters
      .split('&')
      .map((pair) => {
        const equals = pair.indexOf('=');
        if (equals < 0) return redactComponent(pair) ?? pair;
        const name = pair.slice(0, equals);
        const raw = pair.slice(equals + 1);
        if (raw === '' || WHOLE_TOKEN.test(raw)) return pair;
        // A name that is itself a token (a key-shaped or PII name redacted by an earlier pass) says
        // nothing about its value: reading `[redacted:api-key:…]` as a credential name would make a
        // second pass redact what the first kept.
        const decodedName = safeDecode(name);
        if (!WHOLE_TOKEN.test(decodedName) && isCredentialName(decodedName)) return `${name}=${token('credential', safeDecode(raw))}`;
        const redacted = redactComponent(raw);
        return redacted === undefined ? pair : `${name}=${redacted}`;
      })
      .join('&');
  }

  function redactUrl(url: string): string {
    const parts = URL_PARTS.exec(url);
    if (!parts) return url;
    const [, scheme, authority = '', path = '', query, fragment] = parts;
    // Userinfo (user:password@) goes whole: the host is what names a call.
    const host = authority.slice(authority.lastIndexOf('@') + 1);
    const redactedPath = path
      .split('/')
      .map((segment) => (segment === '' ? segment : (redactComponent(segment) ?? segment)))
      .join('/');
    const redactedQuery = query === undefined ? '' : `?${redactParameters(query.slice(1))}`;
    const redactedFragment =
      fragment === undefined
        ? ''
        : fragment.includes('=')
          ? `#${redactParameters(fragment.slice(1))}`
          : `#${redactComponent(fragment.slice(1)) ?? fragment.slice(1)}`;
    return `${scheme}${host}${redactedPath}${redactedQuery}${redactedFragment}`;
  }

  function value<T>(input: T): T {
    return walk(input) as T;
  }

  /**
   * Copy on write: a container is rebuilt only when something inside it changed. Under a member a
   * field rule names (`fieldRule`), every string, number and boolean becomes that rule's token
   * while arrays and objects keep their shape.
   */
  function walk(input: unknown, fieldRule?: string): unknown {
    if (typeof input === 'string') return fieldRule === undefined ? text(input) : WHOLE_TOKEN.test(input) ? input : token(fieldRule, input);
    if (typeof input === 'number' || typeof input === 'boolean') return fieldRule === undefined ? input : token(fieldRule, JSON.stringify(input));
    if (Array.isArray(input)) {
      let out: unknown[] | undefined;
      for (let index = 0; index < input.length; index++) {
        const member = input[index];
        const redacted = walk(member, fieldRule);
        if (redacted !== member && !out) out = input.slice(0, index);
        out?.push(redacted);
      }
      return out ?? input;
    }
    if (input && typeof input === 'object') {
      const keys = Object.keys(input);
      let out: Record<string, unknown> | undefined;
      for (let index = 0; index < keys.length; index++) {
        const key = keys[index] as string;
        const member = (input as Record<string, unknown>)[key];
        const redacted = walk(member, fieldRule ?? fieldRules.get(key));
        if (redacted !== member && !out) {
          out = {};
          for (const earlier of keys.slice(0, index)) defineMember(out, earlier, (input as Record<string, unknown>)[earlier]);
        }
        if (out) defineMember(out, key, redacted);
      }
      return out ?? input;
    }
    return input;
  }

  function leaf(input: unknown, fieldRule: string | undefined): unknown {
    if (typeof input === 'string') return fieldRule === undefined ? text(input) : WHOLE_TOKEN.test(input) ? input : token(fieldRule, input);
    if (typeof input === 'number' || typeof input === 'boolean') return fieldRule === undefined ? input : token(fieldRule, JSON.stringify(input));
    return input;
  }

  /** Whether long texts can be redacted in chunks: every user pattern can (field rules apply to JSON texts, see longText). */
  const chunkable = patternRules.every((rule) => splitsAtLineFeeds(rule.pattern, rule.name));

  /**
   * `text` of a long text, chunk by chunk (`pause` between them). Chunks end just after a line
   * feed (nextCut), and no pattern can match across one, so each pass of redactOnce over the whole
   * text is the concatenation of its passes over the chunks, and so is the fixed point. Not
   * chunked: a text a user pattern may match across lines in, and, with field rules, a text that
   * may be JSON (its members are redacted as a whole).
   */
  async function longText(input: string, pause: () => Promise<void>): Promise<string> {
    const redacted = await longTextPieces(input, pause);
    return redacted.changed ? redacted.pieces.join('') : input;
  }

  /** longText's pieces, not joined: joining 30 MB of them held the event loop for 25-100 ms. */
  async function longTextPieces(input: string, pause: () => Promise<void>): Promise<{ changed: boolean; pieces: string[] }> {
    if (!chunkable || (fieldRules.size > 0 && mayBeJson(input))) {
      const whole = text(input);
      return { changed: whole !== input, pieces: [whole] };
    }
    const pieces: string[] = [];
    let changed = false;
    for (let start = 0; start < input.length; ) {
      let end = nextCut(input, start + chunkChars);
      let piece = input.slice(start, end);
      // A private key spans lines: from its first header on, the text is one piece.
      if (PRIVATE_KEY_HEADER.test(piece)) {
        end = input.length;
        piece = input.slice(start);
      }
      const redacted = patternRules.length === 0 && !MAY_HOLD_SECRET.test(piece) ? piece : redactText(piece, false);
      changed ||= redacted !== piece;
      pieces.push(redacted);
      start = end;
      if (start < input.length) await pause();
    }
    return { changed, pieces };
  }

  async function textInSlices(input: string): Promise<string> {
    if (input.length < chunkChars * 2) return text(input);
    let sliceEnds = originals.performanceNow() + SLICE_MS;
    return longText(input, async () => {
      if (originals.performanceNow() <= sliceEnds) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceEnds = originals.performanceNow() + SLICE_MS;
    });
  }

  async function ownedValueInSlices<T>(owned: T): Promise<T> {
    if (typeof owned === 'string') return (await textInSlices(owned)) as T;
    if (!owned || typeof owned !== 'object') return leaf(owned, undefined) as T;
    // An explicit stack (no recursion) of containers still to visit, with the field rule they are under.
    const stack: Array<{ container: Record<string, unknown> | unknown[]; fieldRule: string | undefined }> = [
      { container: owned as Record<string, unknown>, fieldRule: undefined },
    ];
    let sliceEnds = originals.performanceNow() + SLICE_MS;
    const pause = async () => {
      if (originals.performanceNow() <= sliceEnds) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceEnds = originals.performanceNow() + SLICE_MS;
    };
    let steps = 0;
    while (stack.length) {
      const { container, fieldRule } = stack.pop() as (typeof stack)[number];
      const keys = Array.isArray(container) ? null : Object.keys(container);
      const length = keys ? keys.length : (container as unknown[]).length;
      for (let index = 0; index < length; index++) {
        const key = keys ? (keys[index] as string) : index;
        const member = (container as Record<string | number, unknown>)[key];
        const rule = fieldRule ?? (keys ? fieldRules.get(key as string) : undefined);
        if (member && typeof member === 'object') stack.push({ container: member as Record<string, unknown>, fieldRule: rule });
        else {
          const long = typeof member === 'string' && rule === undefined && member.length >= chunkChars * 2;
          if (long) {
            const redacted = await longTextPieces(member, pause);
            // A long text without line feeds is one piece: many of them in a row must not run as one slice.
            await pause();
            if (redacted.changed) {
              // Concatenated, not joined: no copy is made here (see redactedPieces).
              let joined = '';
              for (const piece of redacted.pieces) joined += piece;
              if (keys) defineMember(container as Record<string, unknown>, key as string, joined);
              else (container as unknown[])[index] = joined;
              let byKey = redactedPieces.get(container);
              if (!byKey) {
                byKey = new Map();
                redactedPieces.set(container, byKey);
              }
              byKey.set(key, redacted.pieces);
            }
            if (++steps % STEPS_PER_CLOCK_LOOK === 0) await pause();
            continue;
          }
          const redacted = leaf(member, rule);
          if (redacted !== member) {
            if (keys) defineMember(container as Record<string, unknown>, key as string, redacted);
            else (container as unknown[])[index] = redacted;
          }
        }
        if (++steps % STEPS_PER_CLOCK_LOOK === 0) await pause();
      }
    }
    return owned;
  }

  return {
    ownedValueInSlices,
    textInSlices,
    hasRules: patternRules.length > 0 || fieldRules.size > 0,
    headers(headers) {
      const out: Record<string, string> = {};
      for (const [name, headerValue] of headers) {
        const lower = name.toLowerCase();
        if (isCredentialName(lower)) continue;
        defineMember(out, lower, text(headerValue));
      }
      return out;
    },
    url(url) {
      // The whole string is the URL, even where a URL inside a text would end (a space, a quote).
      return text(URL_PARTS.test(url) ? redactUrl(url) : url);
    },
    value,
    text,
  };
}

/**
 * The pieces of long texts that ownedValueInSlices redacted, by the container and key holding
 * the text: the text there is their concatenation, which flattening (a copy of 30 MB at once)
 * would stall the loop, so the sliced writer escapes the pieces instead (see piecesOf).
 */
const redactedPieces = new WeakMap<object, Map<string | number, readonly string[]>>();

/** The pieces `container[key]` was concatenated from by ownedValueInSlices, when it was and still holds them. */
export function piecesOf(container: object, key: string | number, member: string): readonly string[] | undefined {
  const pieces = redactedPieces.get(container)?.get(key);
  if (!pieces) return undefined;
  let length = 0;
  for (const piece of pieces) length += piece.length;
  return length === member.length ? pieces : undefined;
}

/** How long one slice of ownedValueInSlices may run before it yields, and how often it looks at the clock. */
const SLICE_MS = 4;
const STEPS_PER_CLOCK_LOOK = 512;
/** A chunk of a long text holds at least this many characters (about a millisecond of redaction with URLs); texts of twice that are chunked. */
const CHUNK_CHARS = 16 * 1024;
const PRIVATE_KEY_HEADER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** With field rules a text that starts as JSON does is parsed and redacted as a whole. */
function mayBeJson(input: string): boolean {
  const first = input.trimStart().charCodeAt(0);
  return first === 123 /* { */ || first === 91 /* [ */;
}

/**
 * Where the chunk of a long text that reaches `from` ends: just after the first line feed at or
 * after `from - 1` that no built-in pattern can match across, or at the text's end. URLs, key
 * shapes and credentials hold no whitespace; a bearer token's may (`Bearer\n abc…`), so a line
 * feed in whitespace that follows "earer" (or in a run too long to look at) is not a cut; a
 * private key spans lines, which longText handles. Redaction never removes a line feed nor puts
 * "earer" before whitespace (its tokens end in `]`), so the cuts stay cuts pass after pass.
 */
function nextCut(input: string, from: number): number {
  for (let at = Math.max(0, from - 1); at < input.length; ) {
    const feed = input.indexOf('\n', at);
    if (feed < 0) return input.length;
    if (feed + 1 >= input.length) return input.length;
    let run = feed;
    while (run > 0 && run > feed - 8 && /\s/.test(input.charAt(run - 1))) run--;
    if (!(run > 0 && /\s/.test(input.charAt(run - 1))) && input.slice(Math.max(0, run - 5), run) !== 'earer') return feed + 1;
    at = feed + 1;
  }
  return input.length;
}

/**
 * Whether a user pattern gives the same matches over a text as over its chunks ending just after
 * line feeds: nothing in it can match a line feed (no \s, \W, \D, negated class, property or
 * numeric escape, range over it, nor `.` under the s flag), so no match and no lookaround reaches
 * across a cut; no `^` outside a class without the m flag (it would match at every chunk's start);
 * not sticky, no v-flag set notation; and a name that makes tokens of plain characters. What is
 * left to differ at a cut is an empty match, which applyRules leaves be. Conservative: a pattern
 * it cannot vouch for has long texts redacted in one piece.
 */
export function splitsAtLineFeeds(pattern: RegExp, name: string): boolean {
  if (/[syv]/.test(pattern.flags) || !/^[\w.-]+$/.test(name)) return false;
  const source = pattern.source;
  let inClass = false;
  for (let index = 0; index < source.length; index++) {
    const char = source.charAt(index);
    if (char === '\n' || char === '\r') return false;
    if (char === '\\') {
      const next = source.charAt(index + 1);
      if ('sWDnpPcxu0'.includes(next) || (/[1-9]/.test(next) && /[0-9]/.test(source.charAt(index + 2)))) return false;
      index++;
      // An escape as a range's end: not worth telling which ones hold a line feed.
      if (inClass && source.charAt(index + 1) === '-' && source.charAt(index + 2) !== ']') return false;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      else if (source.charAt(index + 1) === '-' && index + 2 < source.length && source.charAt(index + 2) !== ']') {
        const high = source.charAt(index + 2);
        if (high === '\\' || (char.charCodeAt(0) <= 10 && high.charCodeAt(0) >= 10)) return false;
        index += 2;
      }
      continue;
    }
    if (char === '[') {
      if (source.charAt(index + 1) === '^') return false;
      inClass = true;
    } else if (char === '^' && !pattern.flags.includes('m')) return false;
  }
  return true;
}

/** Sets an own member, `__proto__` included: as data, never as the object's prototype. */
function defineMember(target: Record<string, unknown>, key: string, member: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value: member, enumerable: true, writable: true, configurable: true });
  else target[key] = member;
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
