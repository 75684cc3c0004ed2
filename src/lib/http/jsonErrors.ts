// The errors of the JSON scanner (jsonSyntax.ts): each says where the scan stopped, as a position and
// as a line and column, and never quotes more than one character of the input.

/** Where in the text a scan stopped: position, and the 1-based line and column (UTF-16 code units). */
export abstract class JsonScanError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(
    readonly reason: string,
    /** 0-based offset into the text. */
    readonly position: number,
    text: string,
  ) {
    const lineStart = text.lastIndexOf('\n', position - 1) + 1;
    const line = countNewlines(text, position) + 1;
    const column = position - lineStart + 1;
    super(`${reason} at position ${position} (line ${line}, column ${column})`);
    this.line = line;
    this.column = column;
  }
}

export class JsonSyntaxError extends JsonScanError {
  override readonly name = 'JsonSyntaxError';
}

/** Nesting deeper than `ScanLimits.maxDepth`; `index` is the top-level element it happened in. */
export class JsonDepthError extends JsonScanError {
  override readonly name = 'JsonDepthError';
  constructor(
    readonly maxDepth: number,
    readonly index: number,
    position: number,
    text: string,
  ) {
    super(`Nesting deeper than ${maxDepth} levels`, position, text);
  }
}

/** A top-level array with more than `ScanLimits.maxElements` elements. */
export class JsonElementCountError extends JsonScanError {
  override readonly name = 'JsonElementCountError';
  constructor(
    readonly maxElements: number,
    position: number,
    text: string,
  ) {
    super(`More than ${maxElements} array elements`, position, text);
  }
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) count += 1;
  return count;
}
