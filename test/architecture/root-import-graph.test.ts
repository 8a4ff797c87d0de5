import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `import('retrial')` loads none of the package's dependencies: zod, better-sqlite3, pg, pg-boss,
 * hono, openai and the rest are each loaded by the code that first needs them (zod to parse a
 * tape or a wire body, better-sqlite3 to open a store), so a service that imports the recording
 * API starts fast. A child process imports the source entry with a module resolve hook that
 * writes down every package an ESM import reaches, and lists the CommonJS modules that
 * `createRequire` loaded; no timing is involved.
 */

const REPOSITORY = resolve(import.meta.dirname, '../..');
const packageJson = JSON.parse(await readFile(join(REPOSITORY, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
// tsx is the loader the child runs the TypeScript source with, not a dependency of the import.
const DEPENDENCIES = [...Object.keys(packageJson.dependencies ?? {}), ...Object.keys(packageJson.optionalDependencies ?? {})].filter((name) => name !== 'tsx');

// Runs in the loader's thread: appends `<package url> <- <importing url>` for every import that
// resolves into node_modules.
const HOOKS = `
import { appendFileSync } from 'node:fs';
let logPath;
export function initialize(data) { logPath = data.logPath; }
export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (result.url.includes('/node_modules/')) appendFileSync(logPath, result.url + ' <- ' + context.parentURL + '\\n');
  return result;
}
`;

// Imports an entry, then writes down which packages it loaded: by ESM import (the hook's log)
// and by require (new keys of require.cache). Then does what loads zod and yaml on purpose, so
// the test also sees that both ways of loading are observed.
const CHILD = `
import { register, createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
const [hooks, logPath, resultPath, entry, tape, backfill] = process.argv.slice(2);
register(hooks, import.meta.url, { data: { logPath } });
const require = createRequire(import.meta.url);
const snapshot = (before) => ({
  imported: readFileSync(logPath, 'utf8').split('\\n').filter(Boolean),
  required: Object.keys(require.cache).filter((key) => !before.has(key)),
});
const before = new Set(Object.keys(require.cache));
writeFileSync(logPath, '');
await import(entry);
const root = snapshot(before);
writeFileSync(logPath, '');
(await import(tape)).loadZod();
await import(backfill);
writeFileSync(resultPath, JSON.stringify({ root, afterUse: snapshot(before) }));
`;

interface Loaded {
  imported: string[];
  required: string[];
}

/** The package a node_modules path belongs to (`zod`, `@hono/node-server`). */
function packageOf(path: string): string {
  const inside = path.split('/node_modules/').at(-1) as string;
  const [first, second] = inside.split('/');
  return first?.startsWith('@') ? `${first}/${second}` : (first as string);
}

/** Each package the snapshot shows, with where an ESM import of it came from when known. */
function packagesIn(loaded: Loaded): Map<string, string> {
  const packages = new Map<string, string>();
  for (const line of loaded.imported) {
    const [url, parent] = line.split(' <- ');
    const name = packageOf(url as string);
    if (!packages.has(name)) packages.set(name, `imported by ${(parent ?? '').replace(pathToFileURL(REPOSITORY).href, '.')}`);
  }
  for (const path of loaded.required.filter((key) => key.includes('/node_modules/'))) {
    const name = packageOf(path);
    if (!packages.has(name)) packages.set(name, 'required (createRequire or CommonJS)');
  }
  return packages;
}

describe("import('retrial')", () => {
  let work: string;
  let result: { root: Loaded; afterUse: Loaded };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'retrial-root-graph-'));
    const hooks = join(work, 'hooks.mjs');
    const child = join(work, 'child.mjs');
    await writeFile(hooks, HOOKS);
    await writeFile(child, CHILD);
    const entry = (path: string) => pathToFileURL(join(REPOSITORY, path)).href;
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        child,
        pathToFileURL(hooks).href,
        join(work, 'log.txt'),
        join(work, 'result.json'),
        entry('src/index.ts'),
        entry('src/tape/index.ts'),
        entry('src/backfill.ts'),
      ],
      { cwd: REPOSITORY, env },
    );
    result = JSON.parse(await readFile(join(work, 'result.json'), 'utf8'));
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('loads none of the dependencies in package.json (zod, better-sqlite3, pg, pg-boss, hono, openai...)', () => {
    expect(DEPENDENCIES).toEqual(expect.arrayContaining(['zod', 'better-sqlite3', 'pg', 'pg-boss', 'hono', '@hono/node-server', 'openai']));
    const loaded = packagesIn(result.root);
    const offending = DEPENDENCIES.filter((name) => loaded.has(name)).map((name) => `${name} (${loaded.get(name)})`);
    expect(offending, 'load these where they are first needed (see src/tape/lazy-schema.ts), not at import').toEqual([]);
  });

  it('sees a dependency loaded either way: zod by require on first use, yaml by the import of retrial/backfill', () => {
    const loaded = packagesIn(result.afterUse);
    expect(loaded.get('zod')).toMatch(/required/);
    expect(loaded.get('yaml')).toMatch(/imported by .*src\/backfill\/triage-policy\.ts/);
  });
});
