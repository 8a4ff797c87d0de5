/**
 * Records or replays one run of an agent module in a process of its own, so the test can choose
 * its working directory and where the agent and its node_modules live. Run through tsx:
 *   node --import <tsx loader> portable-keys-child.ts record <agent module> <tape file> <env JSON>
 *   node --import <tsx loader> portable-keys-child.ts replay <agent module> <tape file> <env JSON>
 * Prints one JSON line: the output (record) or the divergences (replay).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type AgentDefinition, createRecorder } from '../../src/record/index.ts';
import { replayRun } from '../../src/replay/index.ts';
import { createMemoryStore, exportRun, importRun } from '../../src/store/index.ts';

const SALT = 'portable-keys-salt';
const [mode, agentPath, tapePath, envJson] = process.argv.slice(2) as [string, string, string, string];
const agent = (await import(pathToFileURL(agentPath).href)).default as AgentDefinition<{ ticket: string }, unknown>;
const env = JSON.parse(envJson) as Record<string, string>;

if (mode === 'record') {
  const store = createMemoryStore();
  const rec = createRecorder({ store, agent: agent.name, codeVersion: agent.codeVersion, redaction: { salt: SALT } });
  const output = await rec.run({ ticket: 'My refund has not arrived.' }, agent.create({ rec, env }), { runId: 'run_portable' });
  await rec.flush();
  writeFileSync(tapePath, await exportRun(store, 'run_portable'));
  process.stdout.write(`${JSON.stringify({ output })}\n`);
} else {
  const store = createMemoryStore();
  const { runId } = await importRun(store, readFileSync(tapePath, 'utf8'));
  const result = await replayRun({ store, runId, agent: agent as never, redactionSalt: SALT, env });
  process.stdout.write(`${JSON.stringify({ ok: result.ok, divergences: result.divergences })}\n`);
}
