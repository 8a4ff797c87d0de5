import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AgentDefinition } from '../record/index.ts';
import { RetrialError } from '../tape/index.ts';
import { displayPath } from './display-path.ts';
import { UsageError } from './exit-codes.ts';
import { CLI_EXTENSION, prepareToImport } from './typescript-loader.ts';

/** The demo's agent module, as a path the user can type from where they are. */
export function demoAgentPath(): string {
  return displayPath(fileURLToPath(new URL(`../demo/support-agent${CLI_EXTENSION}`, import.meta.url)));
}

/**
 * Imports an agent module (JavaScript, or TypeScript through tsx) and returns its
 * AgentDefinition: the default export, or an export named `agent`.
 */
export async function loadAgentModule(path: string): Promise<AgentDefinition<never, unknown, unknown>> {
  const absolute = resolve(path);
  if (!existsSync(absolute))
    throw new RetrialError({
      code: 'FILE_NOT_FOUND',
      message: `--agent ${path}: no such file (looked for ${absolute}). Pass the file that exports your agent; the demo's is ${demoAgentPath()}.`,
    });
  await prepareToImport(absolute);
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
