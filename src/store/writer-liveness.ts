import { hostname } from 'node:os';
import type { RunWriter } from './store.ts';

/**
 * The default answer to "is the process writing this run still there?". A pid is only meaningful
 * on its own host, so writers on other hosts count as alive: marking a live run of another
 * machine incomplete would be worse than leaving a dead one `recording` until that host looks.
 */
export function isWriterAliveOnThisHost(writer: RunWriter): boolean {
  if (writer.host !== hostname()) return true;
  if (writer.pid === process.pid) return true;
  try {
    // Signal 0 checks existence and permission without delivering anything.
    process.kill(writer.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user. Only ESRCH means it is gone.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
