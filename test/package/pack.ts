import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Packs retrial as `npm publish` would and installs the tarball into temporary projects, as a
 * user of the package would get it: plain `node`, no loader, nothing from this checkout but the
 * tarball. Shared by the tests that need the installed package (test/package/*.test.ts).
 */

const REPOSITORY = resolve(import.meta.dirname, '../..');

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every command run here: this process's, without what would make the
 * installed package behave unlike a user's (RETRIAL_FROM_SOURCE sends bin/retrial.js to the
 * TypeScript source; npm_* variables are npm's own when the tests run under `npm test`).
 */
function userEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (key !== 'RETRIAL_FROM_SOURCE' && !key.startsWith('npm_') && !key.startsWith('VITEST') && key !== 'NODE_OPTIONS') env[key] = value;
  return { ...env, ...extra };
}

/** Runs a command to its end and collects what it printed; never throws for a non-zero status. */
export function runCommand(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: userEnvironment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status: status ?? -1, stdout, stderr }));
  });
}

async function mustRun(command: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<string> {
  const result = await runCommand(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.status}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

export interface PackedPackage {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Every path in the tarball, relative to the package root. */
  files: string[];
}

let packed: Promise<PackedPackage> | undefined;
/** Temporary directories made here, removed by removeTemporaryFiles. */
const temporary: string[] = [];

async function temporaryDirectory(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** Removes the tarball and the projects made by this module (call it in afterAll). */
export async function removeTemporaryFiles(): Promise<void> {
  packed = undefined;
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** What `npm pack` reads: the build's inputs and what the manifest's `files` ships. */
const PACKAGE_SOURCES = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bin', 'examples', 'README.md', 'LICENSE'];

/**
 * `npm pack` of this checkout's working tree (uncommitted edits included) into a temporary
 * directory. Packed from a copy: npm runs the `prepare` script first, which empties and rebuilds
 * dist/, and test files in other worker processes pack at the same time, so none of them may
 * build in the checkout's own dist/. Packed once per process, then reused.
 */
export function packRetrial(): Promise<PackedPackage> {
  packed ??= (async () => {
    const source = await temporaryDirectory('retrial-source-');
    for (const entry of PACKAGE_SOURCES) await cp(join(REPOSITORY, entry), join(source, entry), { recursive: true });
    // The build's compiler and types, not shipped (the manifest's files leave node_modules out).
    await symlink(join(REPOSITORY, 'node_modules'), join(source, 'node_modules'), 'dir');
    const destination = await temporaryDirectory('retrial-pack-');
    const stdout = await mustRun('npm', ['pack', '--json', '--pack-destination', destination], { cwd: source });
    // The JSON report is the last thing npm prints; the build's own output may come before it.
    const report = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
    const [entry] = report;
    if (!entry) throw new Error(`npm pack printed no report:\n${stdout}`);
    return { tarball: join(destination, entry.filename), files: entry.files.map((file) => file.path) };
  })();
  return packed;
}

export interface InstalledProject {
  /** The project's directory; the package is in its node_modules/retrial. */
  dir: string;
  packed: PackedPackage;
  /** Runs a command in the project (or in `cwd`, relative to it) with a user's environment. */
  run(command: string, args: readonly string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<CommandResult>;
  /** Writes a file into the project (creating folders) and returns its absolute path. */
  write(path: string, content: string): Promise<string>;
}

export interface InstallOptions {
  /** Further dependencies of the project (name to version range), from the npm cache when it has them. */
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  /** `--omit=optional`: install retrial without openai and tsx, as a recording-only service may. */
  omitOptional?: boolean;
  /** Where to create the project; default a new temporary directory. */
  dir?: string;
  /** npm's `--install-strategy`: `nested` puts each package's dependencies inside it instead of hoisting them. */
  installStrategy?: 'hoisted' | 'nested' | 'shallow';
}

/**
 * A new ESM project (`"type": "module"`) with the packed retrial installed from its tarball by
 * `npm install --prefer-offline`: packages come from the npm cache, the registry only for what it
 * lacks. Install scripts are skipped and better-sqlite3's native addon is copied from this
 * checkout when the versions match: compiling it (about a minute of CPU) is not what is tested.
 */
export async function packAndInstall(options: InstallOptions = {}): Promise<InstalledProject> {
  const pack = await packRetrial();
  const dir = options.dir ?? (await temporaryDirectory('retrial-consumer-'));
  await mkdir(dir, { recursive: true });
  const manifest = {
    name: 'retrial-consumer',
    private: true,
    type: 'module',
    dependencies: { retrial: `file:${pack.tarball}`, ...options.dependencies },
    devDependencies: options.devDependencies ?? {},
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
  if (options.omitOptional) install.push('--omit=optional');
  if (options.installStrategy) install.push(`--install-strategy=${options.installStrategy}`);
  await mustRun('npm', install, { cwd: dir });
  await provideSqliteAddon(dir);
  return {
    dir,
    packed: pack,
    run: (command, args, runOptions = {}) => runCommand(command, args, { cwd: resolve(dir, runOptions.cwd ?? '.'), env: runOptions.env }),
    write: async (path, content) => {
      const absolute = resolve(dir, path);
      await mkdir(resolve(absolute, '..'), { recursive: true });
      await writeFile(absolute, content);
      return absolute;
    },
  };
}

/**
 * better-sqlite3's compiled addon in the project: this checkout's build when the versions match,
 * else built there. Found from retrial's own folder, so a nested install's copy is found too.
 */
async function provideSqliteAddon(dir: string): Promise<void> {
  const packageOf = (root: string) => dirname(createRequire(join(root, 'package.json')).resolve('better-sqlite3/package.json'));
  const installedDir = packageOf(join(dir, 'node_modules/retrial'));
  const versionOf = async (packageDir: string) => (JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  if ((await versionOf(installedDir)) === (await versionOf(packageOf(REPOSITORY))))
    await cp(join(packageOf(REPOSITORY), 'build'), join(installedDir, 'build'), { recursive: true });
  else await mustRun('npm', ['rebuild', 'better-sqlite3', '--loglevel=error'], { cwd: dir });
}
