import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RetrialError } from '../tape/index.ts';

/**
 * Writes a file the user named on the command line. A missing or unwritable directory is theirs
 * to fix, so the error says which path and what to change (exit 3), not a stack trace.
 */
export async function writeUserFile(path: string, text: string, flag: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `the directory ${dirname(path)} does not exist; create it or pass another ${flag}`
        : code === 'EISDIR'
          ? `it is a directory; pass a file name to ${flag}`
          : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
            ? `permission denied (${code}); pass a path you can write to ${flag}`
            : undefined;
    if (problem === undefined) throw cause;
    throw new RetrialError({ code: 'FILE_NOT_FOUND', message: `Cannot write ${path}: ${problem}.`, cause });
  }
}
