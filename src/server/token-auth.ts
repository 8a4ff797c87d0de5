import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { errorBody } from './error-body.ts';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Requires `Authorization: Bearer <token>` on every request when the server has a token. Both
 * sides are hashed to equal length first, so the comparison takes the same time whatever the
 * guess (timingSafeEqual needs equal lengths, and a length check would tell the token's length).
 * Without a token (a collector on loopback only) every request passes.
 */
export function tokenAuth(token: string | undefined): MiddlewareHandler {
  const expected = token === undefined ? undefined : digest(token);
  return async (context, next) => {
    if (expected === undefined) return next();
    const header = context.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match === null || !timingSafeEqual(digest(match[1] as string), expected)) {
      context.header('WWW-Authenticate', 'Bearer');
      return context.json(
        errorBody(
          'UNAUTHORIZED',
          match === null
            ? 'This collector needs a token: send Authorization: Bearer <token> (RETRIAL_TOKEN, the token the collector was started with).'
            : 'The bearer token is not the one this collector was started with (RETRIAL_TOKEN).',
        ),
        401,
      );
    }
    return next();
  };
}
