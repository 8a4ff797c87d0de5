import type { Redactor } from '../record/index.ts';
import { RecorderFlag } from '../tape/index.ts';
import type { HttpArgs } from './portable-keys.ts';

/**
 * Tapes recorded before RecorderFlag.WideRedaction kept credential-shaped text (a JWT in a tool
 * argument, an `sk-...` key in a model message, a signature in a URL) as it was, where today's
 * redactor makes it a token: the replayed call, redacted today, no longer hashes as recorded. For
 * such tapes a call that does not match is compared again with the recorded side redacted by
 * today's rules too (redaction is idempotent, so both sides are then alike). Only on a mismatch:
 * the exact comparison stays the fast path.
 */
export function redactedBeforeWideRules(recorderFlags: readonly number[]): boolean {
  return !recorderFlags.includes(RecorderFlag.WideRedaction);
}

/** Query parameter names the recorder before WideRedaction replaced by `[redacted]` (its rule, kept as it was). */
const OLD_CREDENTIAL_NAME = /(^|[-_])(auth|token|secret|password|passwd|api[-_]?key|key|session|signature|sig)($|[-_])/i;

/**
 * A URL as the recorder before WideRedaction stored it: credential query values `[redacted]`,
 * userinfo dropped, the URL re-serialised when either applied. Such a value's original is on no
 * tape, so the replayed URL is brought to the same placeholder before both are redacted today.
 */
export function urlAsRedactedBefore(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  let changed = false;
  for (const name of [...parsed.searchParams.keys()]) {
    if (OLD_CREDENTIAL_NAME.test(name)) {
      parsed.searchParams.set(name, '[redacted]');
      changed = true;
    }
  }
  parsed.username = '';
  parsed.password = '';
  return changed || url.includes('@') ? parsed.toString() : url;
}

/** A recorded plain HTTP call's arguments passed through today's redactor. */
export function httpArgsRedactedToday(redactor: Redactor, args: HttpArgs): HttpArgs {
  return {
    method: args.method,
    url: redactor.url(args.url),
    headers: redactor.headers(Object.entries(args.headers)),
    body: args.body === null ? null : redactor.text(args.body),
  };
}

/** A replayed plain HTTP call's arguments, for comparing with an old tape's (see httpArgsRedactedToday). */
export function replayedHttpArgsForOldTape(redactor: Redactor, rawUrl: string, replayed: HttpArgs): HttpArgs {
  return { ...replayed, url: redactor.url(urlAsRedactedBefore(rawUrl)) };
}
