import { fileURLToPath } from 'node:url';

/**
 * Retrial's own frames, found by where this module was loaded from rather than by a file-name
 * pattern: `src/record/*.ts` under a loader, `dist/record/*.js` once compiled, or the same under
 * `node_modules/retrial/`. The record and replay folders sit side by side in every layout.
 * Frames name their file by URL under ESM and by path under CommonJS-style loaders (vitest).
 */
const OWN_FOLDERS = ['record', 'replay'].flatMap((folder) => {
  const url = new URL(`../${folder}/`, import.meta.url);
  return [url.href, fileURLToPath(url)];
});

/** Tests beside the code (`recorder.test.ts`) call retrial like any agent does. */
const COLOCATED_TEST = /\.test\.[cm]?[jt]sx?$/;

type StructuredFrames = NodeJS.CallSite[];

const keepFrames = (_error: Error, frames: StructuredFrames) => frames;

/** Returns V8's structured frames: no text formatting, no source-map lookups. */
function structuredFrames(limit: number): StructuredFrames {
  const previousPrepare = Error.prepareStackTrace;
  const previousLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = keepFrames;
  Error.stackTraceLimit = limit;
  const holder: { stack?: StructuredFrames } = {};
  Error.captureStackTrace(holder, structuredFrames);
  const frames = holder.stack ?? [];
  Error.prepareStackTrace = previousPrepare;
  Error.stackTraceLimit = previousLimit;
  return frames;
}

/** A frame's file, or null for frames with none (V8 builtins such as `Array.prototype.map`). */
function fileOf(frame: NodeJS.CallSite): string | null {
  return frame.getFileName() ?? frame.getScriptNameOrSourceURL() ?? null;
}

function isRetrialFile(file: string): boolean {
  return OWN_FOLDERS.some((folder) => file.startsWith(folder)) && !COLOCATED_TEST.test(file);
}

/**
 * What a file is, by name: null for retrial's own code and Node's internals (skipped when looking
 * for a call site), `''` for the agent's own code, `<package>#` for code inside an installed
 * package. Cached: a site is named on every random read an SDK makes.
 */
const owners = new Map<string, string | null>();

function ownerOf(file: string): string | null {
  const known = owners.get(file);
  if (known !== undefined) return known;
  const own = file.startsWith('node:') || isRetrialFile(file);
  const owner = own ? null : packagePrefix(file);
  if (owners.size < 4096) owners.set(file, owner);
  return owner;
}

/**
 * `<package>#` after the last `node_modules` segment, scoped names kept: the same for a nested,
 * hoisted, pnpm (`.pnpm/<pkg>@<version>/node_modules/<pkg>`) or Yarn layout at any path. The file
 * inside the package and its version are left out (an ESM and a CommonJS build name their files
 * differently). `''` outside node_modules: the agent's own code, wherever it lives.
 */
function packagePrefix(file: string): string {
  const path = file.startsWith('file://') ? fileURLToPath(file) : file;
  const segments = path.split(/[\\/]/);
  const at = segments.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= segments.length) return '';
  const first = segments[at + 1] as string;
  const name = first.startsWith('@') && at + 2 < segments.length ? `${first}/${segments[at + 2]}` : first;
  return `${name}#`;
}

/** `Class.method` or `function`, or null for an anonymous function. */
function functionNameOf(frame: NodeJS.CallSite): string | null {
  const functionName = frame.getFunctionName();
  const typeName = functionName && !functionName.includes('.') ? frame.getTypeName() : null;
  const methodName = functionName ?? frame.getMethodName();
  if (!methodName) return null;
  return typeName && typeName !== 'Object' ? `${typeName}.${methodName}` : methodName;
}

/**
 * Functions a compiler emits when it turns async functions into generators (TypeScript's
 * `__awaiter`/`__generator` below target ES2017, tsc --init's default among them; Babel's and
 * esbuild's equivalents). They are plumbing between the agent's code and the promise machinery,
 * absent from the source it replays from, so they name nothing in a site. What they cannot give
 * back is the name of an async function that was compiled that way: after its first `await` it
 * runs from an anonymous generator with no frame of its own above it (README, "Keys name the code").
 */
const DOWNLEVEL_ASYNC_HELPERS = new Set([
  '__awaiter',
  '__generator',
  'step',
  'fulfilled',
  'rejected',
  'verb',
  '__async',
  'asyncGeneratorStep',
  '_asyncToGenerator',
  '_next',
  '_throw',
]);

function isDownlevelAsyncHelper(frame: NodeJS.CallSite): boolean {
  const name = frame.getFunctionName();
  return name !== null && DOWNLEVEL_ASYNC_HELPERS.has(name);
}

/**
 * The site of `frames[index]`: `<owner><function>`; for an anonymous function, the nearest named
 * function further up, below retrial's own frames, with an anonymous marker (`<anonymous in
 * handle>`), else `<anonymous>`. Never a file or a line: compiled and source files, and their
 * line numbers, differ.
 */
function siteAt(frames: StructuredFrames, index: number, owner: string): string {
  const frame = frames[index] as NodeJS.CallSite;
  const name = functionNameOf(frame);
  if (name) return `${owner}${name}`;
  for (let up = index + 1; up < frames.length; up++) {
    const outer = frames[up] as NodeJS.CallSite;
    const file = fileOf(outer);
    // Above retrial's own frames is whoever started the run (a service's request handler, the
    // CLI, a test): not the agent, and not the same when recording and replaying.
    if (file && isRetrialFile(file)) break;
    if (!file || ownerOf(file) === null || isDownlevelAsyncHelper(outer)) continue;
    const outerName = functionNameOf(outer);
    if (outerName) return `${owner}<anonymous in ${outerName}>`;
  }
  return `${owner}<anonymous>`;
}

/**
 * The first stack frame outside retrial, in portable form: `<function>` for the agent's own code,
 * `<package>#<function>` inside an installed package (see packagePrefix). It names random
 * streams, and so their causal keys: nothing of the recording machine's layout (directory,
 * working directory, node_modules layout, compiled or source file) is in it, so a tape replays
 * from another checkout. Reads V8's structured frames, several times cheaper than formatting a
 * stack string (no source-map lookups), because SDKs draw random numbers on every request.
 * `legacyAnonymous`: name an anonymous function as recorders before portable keys did (see below).
 */
export function captureCallSite(legacyAnonymous = false): string {
  // The caller is usually 3-4 frames up (the patched global, the recorder's read); V8's cost grows
  // with the frames it collects, so look close first. 8 is the most it reads: a deeper caller
  // stays "unknown-site", as recorded tapes expect.
  for (const limit of [5, 8]) {
    const frames = structuredFrames(limit);
    for (let index = 0; index < frames.length; index++) {
      const file = fileOf(frames[index] as NodeJS.CallSite);
      const owner = file === null ? null : ownerOf(file);
      if (owner === null) continue;
      if (functionNameOf(frames[index] as NodeJS.CallSite)) return siteAt(frames, index, owner);
      // Tapes before RecorderFlag.PortableKeys named an anonymous function by file and line, which
      // no portable name can be matched with: replaying one, name it as they did.
      if (legacyAnonymous && file !== null) return describeFrame(frames[index] as NodeJS.CallSite, file);
      // Anonymous: the function it runs in may be further up than `limit` (rare, so read deeper).
      // Taken from this same function, the deeper read has the same frames first.
      return siteAt(structuredFrames(16), index, owner);
    }
    if (frames.length < limit) break;
  }
  return 'unknown-site';
}

/**
 * Where the agent's own code made a call: the first frame outside retrial and outside
 * node_modules, following async frames (a model call reaches `fetch` several awaits deep inside
 * the provider SDK). Stored on model, tool and retrieval events so a divergence can name both
 * call sites: for display only, never part of a key, so it may name the file (see describeFrame).
 * Null when no such frame is in reach.
 */
export function captureAgentSite(): string | null {
  for (const frame of structuredFrames(24)) {
    const file = fileOf(frame);
    if (file !== null && ownerOf(file) === '') return describeFrame(frame, file);
  }
  return null;
}

/** By file URL and working directory. */
const relativeFiles = new Map<string, string>();

function relativeFile(file: string): string {
  const cwd = process.cwd();
  const cacheKey = `${cwd}\0${file}`;
  const known = relativeFiles.get(cacheKey);
  if (known !== undefined) return known;
  const path = file.startsWith('file://') ? fileURLToPath(file) : file;
  const relative = path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path;
  if (relativeFiles.size < 4096) relativeFiles.set(cacheKey, relative);
  return relative;
}

/**
 * `path#function` (`path:line` for an anonymous function), the path relative to the working
 * directory: for a person to find the code, so it names the file, unlike a key.
 */
function describeFrame(frame: NodeJS.CallSite, file: string): string {
  const name = functionNameOf(frame);
  return name ? `${relativeFile(file)}#${name}` : `${relativeFile(file)}:${frame.getLineNumber() ?? 0}`;
}

const OLD_NAMED_SITE = /^(.*\.[cm]?[jt]sx?)#(.+)$/;

/**
 * A site as recorders before portable sites named it (`src/agent.ts#handle`,
 * `node_modules/openai/client.mjs#OpenAI.makeRequest`, absolute paths, relative to the recording's
 * working directory), in today's portable form. An anonymous function was named by file and line
 * (`src/agent.ts:42`): that names no function, so it is returned as it was. Names already
 * portable, `unknown-site` among them, are returned as they are.
 */
export function portableSiteName(recorded: string): string {
  const match = OLD_NAMED_SITE.exec(recorded);
  if (!match) return recorded;
  return `${packagePrefix(match[1] as string)}${match[2]}`;
}
