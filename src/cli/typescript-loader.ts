import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingOptionalPackage } from './optional-dependency.ts';

/** The CLI's own extension: .ts when it runs from source (under tsx already), .js from dist/. */
export const CLI_EXTENSION = extname(fileURLToPath(import.meta.url));

let registered: Promise<void> | undefined;

/**
 * Before `import(path)`: when `path` is a TypeScript module (.ts, .mts, .cts), registers tsx's
 * loader, once. tsx is imported only then, so the compiled CLI and JavaScript agents never load
 * it, and it can be left out of an install that needs neither.
 */
export function prepareToImport(path: string): Promise<void> {
  if (!/\.[cm]?ts$/.test(path) || CLI_EXTENSION === '.ts') return Promise.resolve();
  registered ??= import('tsx/esm/api').then(
    ({ register }) => {
      register();
    },
    (error: unknown) => {
      registered = undefined;
      throw missingOptionalPackage(error) ?? error;
    },
  );
  return registered;
}
