/**
 * Splits text into pieces of at most `pieceLength` code points, for rendering a stored answer as
 * a stream. Splitting by code point keeps surrogate pairs (emoji) whole, as real streams do.
 */
export function splitText(text: string, pieceLength = 24): string[] {
  const codePoints = Array.from(text);
  const pieces: string[] = [];
  for (let start = 0; start < codePoints.length; start += pieceLength) {
    pieces.push(codePoints.slice(start, start + pieceLength).join(''));
  }
  return pieces;
}
