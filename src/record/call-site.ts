import { fileURLToPath } from 'node:url';

const OWN_FILES = /[\\/]src[\\/]record[\\/](patch-globals|recorder|run-scope|call-site)\.ts$|[\\/]src[\\/]replay[\\/]|^node:/;

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

/** By file URL and working directory: a stream name is taken on every random read of an SDK. */
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
 * The first stack frame outside the recorder, as `path#function` relative to the working
 * directory (`path:line` for anonymous functions). Used to name random streams after their call
 * site; the function name rather than the line keeps the name stable across unrelated edits.
 * Reads V8's structured frames, which is several times cheaper than formatting a stack string
 * (no source-map lookups), because SDKs draw random numbers on every request.
 */
export function captureCallSite(): string {
  // The caller is usually 3-4 frames up (the patched global, the recorder's read); V8's cost grows
  // with the frames it collects, so look close first. 8 is the most it ever read: a deeper caller
  // stays "unknown-site", as recorded tapes expect.
  for (const limit of [5, 8]) {
    const frames = structuredFrames(limit);
    for (const frame of frames) {
      const file = frame.getFileName() ?? frame.getScriptNameOrSourceURL();
      if (!file || OWN_FILES.test(file)) continue;
      return describeFrame(frame, file);
    }
    if (frames.length < limit) break;
  }
  return 'unknown-site';
}

const NOT_AGENT_CODE = /[\\/]node_modules[\\/]|[\\/]src[\\/](record|replay)[\\/]|^node:/;

/**
 * Where the agent's own code made a call: the first frame outside retrial and outside
 * node_modules, following async frames (a model call reaches `fetch` several awaits deep inside
 * the provider SDK). Stored on model, tool and retrieval events so a divergence can name both
 * call sites. Null when no such frame is in reach.
 */
export function captureAgentSite(): string | null {
  for (const frame of structuredFrames(24)) {
    const file = frame.getFileName() ?? frame.getScriptNameOrSourceURL();
    if (!file || NOT_AGENT_CODE.test(file)) continue;
    return describeFrame(frame, file);
  }
  return null;
}

/**
 * `path#function`: stable across unrelated edits. Line numbers are left out on purpose: under a
 * TypeScript loader the structured frames report lines of the generated code, not the source.
 */
function describeFrame(frame: NodeJS.CallSite, file: string): string {
  const functionName = frame.getFunctionName();
  const typeName = functionName && frame.getTypeName() && !functionName.includes('.') ? frame.getTypeName() : null;
  const methodName = functionName ?? frame.getMethodName();
  const name = methodName ? (typeName && typeName !== 'Object' ? `${typeName}.${methodName}` : methodName) : null;
  return name ? `${relativeFile(file)}#${name}` : `${relativeFile(file)}:${frame.getLineNumber() ?? 0}`;
}
