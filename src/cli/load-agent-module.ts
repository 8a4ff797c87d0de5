import { fileURLToPath } from 'node:url';
import type { AgentDefinition } from '../record/index.ts';
import { loadAgentModule as loadAgentModuleFrom } from '../replay/index.ts';
import { displayPath } from './display-path.ts';

/** The demo's agent module, as a path the user can type from where they are. */
export function demoAgentPath(): string {
  return displayPath(fileURLToPath(new URL('../demo/support-agent.ts', import.meta.url)));
}

/** The library's loader, with messages that name the `--agent` option and the demo's module. */
export function loadAgentModule(path: string): Promise<AgentDefinition<never, unknown, unknown>> {
  return loadAgentModuleFrom(path, { label: '--agent', hint: `Pass the file that exports your agent; the demo's is ${demoAgentPath()}.` });
}
