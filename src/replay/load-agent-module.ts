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
  const candidate = (loaded.default ?? loaded.agent) as Partial<AgentDefinition> | undefined;
  if (!candidate || typeof candidate.create !== 'function' || typeof candidate.name !== 'string') {
    throw new RetrialError({
      code: 'USAGE',
      message: `${label} ${path} must export defineAgent({ name, codeVersion, create }) as its default export (or as \`agent\`).`,
    });
  }
  return candidate as AgentDefinition<never, unknown, unknown>;
}
