/** Whether `error` is V8's stack overflow, which a value nested thousands of levels deep causes. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack size exceeded/i.test(error.message);
}

/**
 * The line of a JSON Lines text whose value nests deepest, and how deep: names the line of a
 * too-deep value after recursion over it failed. One pass; brackets inside strings do not count.
 */
export function deepestJsonLine(text: string): { line: number; depth: number } {
  let deepest = { line: 1, depth: 0 };
  let line = 1;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      depth++;
      if (depth > deepest.depth) deepest = { line, depth };
    } else if (char === 0x5d || char === 0x7d) depth--;
    else if (char === 0x0a) {
      line++;
      depth = 0;
    }
  }
  return deepest;
}
