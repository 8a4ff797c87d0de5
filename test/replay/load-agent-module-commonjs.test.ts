import { describe, expect, it } from 'vitest';
import { exportedAgent } from '../../src/replay/load-agent-module.ts';

/**
 * An agent module compiled to CommonJS from ES module syntax (tsc's `module: commonjs`, the usual
 * output of a TypeScript service; or a .ts file in a package without "type": "module"): Node's
 * import() returns module.exports as the default, the agent one level down beside `__esModule`.
 * (The namespaces are built by hand: vitest's own loader unwraps CommonJS itself, Node does not;
 * test/package/replay-anywhere.test.ts loads such modules under plain node.)
 */
const agent = { name: 'commonjs-agent', codeVersion: '1', create: () => async (input: unknown) => input };

describe('the agent a module exports', () => {
  it('is the default export of an ES module, or its export named agent', () => {
    expect(exportedAgent({ default: agent })).toBe(agent);
    expect(exportedAgent({ agent })).toBe(agent);
  });

  it('is found one level down in a CommonJS build of ES module syntax', () => {
    expect(exportedAgent({ default: { __esModule: true, default: agent } })).toBe(agent);
    expect(exportedAgent({ default: { __esModule: true, agent }, agent })).toBe(agent);
    expect(exportedAgent({ default: { __esModule: true, agent } })).toBe(agent);
  });

  it('is module.exports itself for a CommonJS module that assigns it', () => {
    expect(exportedAgent({ default: agent })).toBe(agent);
  });
});
