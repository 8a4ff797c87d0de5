import { userInfo } from 'node:os';

/** Who is acting, for the audit log: --actor, else $RETRIAL_ACTOR, $USER, then the OS account. */
export function actorOf(options: { actor?: string }): string {
  return options.actor ?? process.env.RETRIAL_ACTOR ?? process.env.USER ?? osUser() ?? 'unknown';
}

function osUser(): string | undefined {
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}
