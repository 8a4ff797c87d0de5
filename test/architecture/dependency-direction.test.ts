import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point one way: tape <- store <- record/replay <- backfill <- demo <- cli, and
 * tape <- store <- record <- server <- cli (the HTTP API is a composition of the library). Each part may
 * import only the parts listed here, and only through their index.ts, so a back-arrow or a reach
 * into another part's internals fails this test instead of creeping in.
 */
const ALLOWED: Record<string, string[]> = {
  tape: [],
  providers: ['tape'],
  store: ['tape'],
  record: ['tape', 'store', 'providers'],
  inspect: ['tape', 'store', 'providers'],
  stats: [],
  replay: ['tape', 'store', 'providers', 'record', 'inspect', 'stats'],
  backfill: ['tape', 'store', 'providers', 'record', 'inspect', 'replay', 'stats'],
  demo: ['tape', 'store', 'record', 'providers', 'inspect', 'replay', 'stats', 'backfill'],
  // The HTTP API (collector now, web UI later): nothing but the CLI imports it.
  server: ['tape', 'store', 'record'],
  cli: ['tape', 'store', 'record', 'providers', 'inspect', 'replay', 'stats', 'demo', 'backfill', 'server'],
  // retrial/testing: for users' test suites; nothing of ours imports it.
  testing: ['tape', 'store', 'record', 'replay'],
};

const SRC = resolve('src');

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)].map((match) => match[1] as string);
}

describe('architecture', () => {
  const files = sourceFiles(SRC);

  it('knows every part under src/', () => {
    const parts = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    expect(parts.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('has no import against the direction of dependencies, and crosses parts only through index.ts', () => {
    const violations: string[] = [];
    for (const file of files) {
      const segments = relative(SRC, file).split('/');
      // src/index.ts is the package entry: it may re-export any part, through its index.ts.
      const part = segments.length === 1 ? '(entry)' : (segments[0] as string);
      for (const specifier of importsOf(file)) {
        const target = relative(SRC, resolve(dirname(file), specifier));
        const targetPart = target.split('/')[0] as string;
        if (target.startsWith('..') || targetPart === part) continue;
        if (part !== '(entry)' && !ALLOWED[part]?.includes(targetPart))
          violations.push(`${relative(SRC, file)} imports ${target} (${part} may not depend on ${targetPart})`);
        else if (target !== `${targetPart}/index.ts`) violations.push(`${relative(SRC, file)} reaches into ${target}; import ${targetPart}/index.ts`);
      }
    }
    expect(violations).toEqual([]);
  });
});
