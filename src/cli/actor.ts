/** Who is acting, for the audit log: --actor, else $USER. */
export function actorOf(options: { actor?: string }): string {
  return options.actor ?? process.env.RETRIAL_ACTOR ?? process.env.USER ?? 'unknown';
}
