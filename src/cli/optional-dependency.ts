import { UsageError } from './exit-codes.ts';

/**
 * retrial's optional dependencies, and what needs them. They are installed by default; a service
 * that only records can leave them out (`npm install --omit=optional`): only the demo and the
 * simulator use openai (the demo's agent is written with it), and only a TypeScript agent module
 * given to --agent needs tsx.
 */
const OPTIONAL_PACKAGES: Record<string, string> = {
  openai: 'The demo and the simulator (`retrial demo`, `retrial sim`, the demo agent)',
  tsx: 'Loading a TypeScript module (an agent or remediation handler: .ts, .mts, .cts)',
};

/**
 * When `error` is Node failing to find one of the optional packages, a one-line UsageError saying
 * which to install; otherwise undefined.
 */
export function missingOptionalPackage(error: unknown): UsageError | undefined {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const missing = /Cannot find package '([^']+)'/.exec((error as Error).message)?.[1];
  if (missing === undefined || !(missing in OPTIONAL_PACKAGES)) return undefined;
  return new UsageError(`${OPTIONAL_PACKAGES[missing]} needs the package ${missing}, which is not installed: run \`npm install ${missing}\`.`);
}
