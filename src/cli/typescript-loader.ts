import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingOptionalPackage } from './optional-dependency.ts';

/** The CLI's own extension: .ts when it runs from source (under tsx already), .js from dist/. */
export const CLI_EXTENSION = extname(fileURLToPath(import.meta.url));

let registered: Promise<void> | undefined;

/**
 * Before `import(path)`: when `path` is a TypeScript module (.ts, .mts, .cts), registers tsx's
 * loaders, once. tsx is imported only then, so the compiled CLI and JavaScript agents never load
 * it, and it can be left out of an install that needs neither.
 */
export function prepareToImport(path: string): Promise<void> {
  if (!/\.[cm]?ts$/.test(path) || CLI_EXTENSION === '.ts') return Promise.resolve();
  // Both of tsx's hooks, as its own CLI registers them: a .ts file in a package without
  // "type": "module" is CommonJS to Node, which the ESM hook alone cannot load (Node refuses it
  // as "require() of ES Module ... in a cycle").
  registered ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(
    ([esm, commonJs]) => {
      esm.register();
      commonJs.register();
    },
    (error: unknown) => {
      registered = undefined;
      throw missingOptionalPackage(error) ?? error;
    },
  );
  return registered;
}
