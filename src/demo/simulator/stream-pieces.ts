/**
 * How the simulator cuts an answer into stream pieces. SIMULATOR ONLY. Real providers send text
 * a few tokens at a time and tool arguments as arbitrary JSON fragments; cutting the same way
 * makes stream assemblers prove they join pieces rather than expect whole values.
 */

/** Pieces of `wordsPerPiece` words, each keeping its trailing space, so joining them gives the text back. */
export function splitWords(text: string, wordsPerPiece: number): string[] {
  const words = text.match(/\S+\s*/g) ?? [text];
  const pieces: string[] = [];
  for (let start = 0; start < words.length; start += wordsPerPiece) pieces.push(words.slice(start, start + wordsPerPiece).join(''));
  return pieces;
}

/** Pieces of `size` characters; a JSON string is cut mid-token on purpose. */
export function splitFixed(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}
