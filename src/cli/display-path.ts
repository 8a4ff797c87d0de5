import { isAbsolute, relative } from 'node:path';

/** A path under the working directory as the user would type it; others stay absolute. */
export function displayPath(path: string): string {
  const relativePath = relative(process.cwd(), path);
  return relativePath === '' || relativePath.startsWith('..') || isAbsolute(relativePath) ? path : relativePath;
}
