/**
 * How the commands retrial prints for the user to run next begin. `npx retrial` works in a clone
 * of the repository and in any project that depends on retrial; a bare `retrial` only after a
 * global install, so hints never assume one.
 */
export const RETRIAL_COMMAND = 'npx retrial';
