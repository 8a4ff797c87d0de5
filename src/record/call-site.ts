import { fileURLToPath } from 'node:url';

const OWN_FILES = /[\\/]src[\\/]record[\\/](patch-globals|recorder|run-scope)\.ts|node:internal|<anonymous>/;

/**
 * The first stack frame outside the recorder, as `path#function` relative to the working
 * directory (`path:line` for anonymous functions). Used to name random streams after their call
 * site; the function name rather than the line keeps the name stable across unrelated edits.
 * Costs a stack capture, so it is only taken for random draws, which are rare.
 */
export function captureCallSite(): string {
  const holder: { stack?: string } = {};
  const previousLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 12;
  Error.captureStackTrace(holder, captureCallSite);
  Error.stackTraceLimit = previousLimit;
  const lines = (holder.stack ?? '').split('\n').slice(1);
  for (const line of lines) {
    if (OWN_FILES.test(line)) continue;
    const match = /^at (?:(?:async )?([^\s(]+) \()?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?$/.exec(line.trim());
    if (!match) continue;
    const functionName = match[1];
    let file = match[2] as string;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    const cwd = process.cwd();
    if (file.startsWith(cwd)) file = file.slice(cwd.length + 1);
    return functionName ? `${file}#${functionName}` : `${file}:${match[3]}`;
  }
  return 'unknown-site';
}
