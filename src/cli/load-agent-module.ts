import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentDefinition } from '../record/index.ts';
import { UsageError } from './exit-codes.ts';

/**
 * Imports an agent module (TypeScript or JavaScript: the CLI runs under tsx) and returns its
 * AgentDefinition: the default export, or an export named `agent`.
 */
export async function loadAgentModule(path: string): Promise<AgentDefinition<never, unknown, unknown>> {
  const absolute = resolve(path);
  if (!existsSync(absolute))
    throw new UsageError(`--agent ${path}: no such file. Pass the file that exports your agent, e.g. --agent src/demo/support-agent.ts.`);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`--agent ${path} could not be loaded: ${(error as Error).message}`);
  }
  const candidate = (loaded.default ?? loaded.agent) as Partial<AgentDefinition> | undefined;
  if (!candidate || typeof candidate.create !== 'function' || typeof candidate.name !== 'string') {
    throw new UsageError(`--agent ${path} must export defineAgent({ name, codeVersion, create }) as its default export (or as \`agent\`).`);
  }
  return candidate as AgentDefinition<never, unknown, unknown>;
}
