import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentDefinition } from '../record/index.ts';
import { RetrialError } from '../tape/index.ts';

export interface LoadAgentModuleOptions {
  /** How messages name the path (the CLI says `--agent`). Default `agent module`. */
  label?: string;
  /** A sentence appended when the file does not exist (the CLI names the demo's agent). */
  hint?: string;
}

/**
 * A CommonJS module's exports when it was compiled from ES module syntax (tsc's `module:
 * commonjs`, or a .ts file in a package without "type": "module"): `import()` hands back
 * `module.exports` as its default, with the module's own default export one level down.
 */
function commonJsExports(loaded: Record<string, unknown>): Record<string, unknown> | undefined {
  const exports = loaded.default as Record<string, unknown> | null | undefined;
  return typeof exports === 'object' && exports !== null && exports.__esModule === true ? exports : undefined;
}

/** What a module namespace from import() offers as the agent: `default`, else `agent`, CommonJS builds unwrapped. */
export function exportedAgent(loaded: Record<string, unknown>): Partial<AgentDefinition> | undefined {
  const exported = commonJsExports(loaded) ?? loaded;
  return (exported.default ?? exported.agent) as Partial<AgentDefinition> | undefined;
}

/**
 * Imports an agent module and returns its AgentDefinition: the default export, or an export
 * named `agent`. A `.ts` module needs a TypeScript loader in the process (the CLI has one).
 */
export async function loadAgentModule(path: string, options: LoadAgentModuleOptions = {}): Promise<AgentDefinition<never, unknown, unknown>> {
  const label = options.label ?? 'agent module';
  const absolute = resolve(path);
  if (!existsSync(absolute))
    throw new RetrialError({
      code: 'FILE_NOT_FOUND',
      message: `${label} ${path}: no such file (looked for ${absolute}).${options.hint ? ` ${options.hint}` : ''}`,
    });
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new RetrialError({ code: 'USAGE', message: `${label} ${path} could not be loaded: ${(error as Error).message}`, cause: error });
  }
  const candidate = exportedAgent(loaded);
  if (!candidate || typeof candidate.create !== 'function' || typeof candidate.name !== 'string') {
    throw new RetrialError({
      code: 'USAGE',
      message: `${label} ${path} must export defineAgent({ name, codeVersion, create }) as its default export (or as \`agent\`).`,
    });
  }
  return candidate as AgentDefinition<never, unknown, unknown>;
}
