import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentDefinition } from '../record/index.ts';
import { loadAgentModule as loadAgentModuleFrom } from '../replay/index.ts';
import { displayPath } from './display-path.ts';
import { CLI_EXTENSION, prepareToImport } from './typescript-loader.ts';

/** The demo's agent module, as a path the user can type from where they are. */
export function demoAgentPath(): string {
  return displayPath(fileURLToPath(new URL(`../demo/support-agent${CLI_EXTENSION}`, import.meta.url)));
}

/**
 * The library's loader, with messages that name the `--agent` option and the demo's module. A
 * TypeScript module gets tsx's loader first (the compiled CLI has none of its own).
 */
export async function loadAgentModule(path: string): Promise<AgentDefinition<never, unknown, unknown>> {
  if (existsSync(resolve(path))) await prepareToImport(resolve(path));
  return loadAgentModuleFrom(path, { label: '--agent', hint: `Pass the file that exports your agent; the demo's is ${demoAgentPath()}.` });
}
