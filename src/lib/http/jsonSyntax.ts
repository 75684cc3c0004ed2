// A JSON syntax scanner (RFC 8259, the grammar JSON.parse accepts). It exists for two reasons:
// - JSON.parse's messages differ between Node versions, often lack a position and quote the input;
//   this reports a stable message with position, line and column instead;
// - it returns the exact source text of each element of a top-level array, so events are published
//   byte for byte as sent (no precision lost on large numbers, no key reordering).
// Iterative, so deeply nested input cannot overflow the stack; optional limits on nesting depth and on
// the number of top-level array elements stop hostile input early, at the offending character.

export interface TextSpan {
  start: number;
  end: number;
}

export interface JsonScan {
  /** True when the top-level value is an array. */
  isArray: boolean;
  /** The top-level array's elements, or the single top-level value. */
  values: TextSpan[];
}

export interface ScanLimits {
  /**
   * Deepest nesting of arrays and objects allowed in one value: an element of a top-level array when
   * `arrayIsEnvelope`, otherwise the whole text. `[[1]]` has depth 2, a scalar depth 0.
   */
  maxDepth?: number;
  /** Most elements allowed in a top-level array that is an envelope. */
  maxElements?: number;
  /** Whether a top-level array only carries the values (its own level is not counted). Default true. */
  arrayIsEnvelope?: boolean;
}

/** Where in the text a scan stopped: position, and the 1-based line and column (UTF-16 code units). */
abstract class JsonScanError extends Error {
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

const ARRAY = 0;
const OBJECT = 1;

export function scanJson(text: string, limits: ScanLimits = {}): JsonScan {
  const maxDepth = limits.maxDepth ?? Infinity;
  const maxElements = limits.maxElements ?? Infinity;
  const arrayIsEnvelope = limits.arrayIsEnvelope ?? true;
  const stack: number[] = [];
  const values: TextSpan[] = [];
  let isArray = false;
  /** The stack height at which nesting exceeds maxDepth (one more when the top-level array is an envelope). */
  let tooDeep = maxDepth + 1;
  let valueStart = -1;
  let i = skipWhitespace(text, 0);
  const fail = (reason: string, at: number): never => {
    throw new JsonSyntaxError(reason, at, text);
  };

  valueLoop: for (;;) {
    // A value is expected at i (whitespace already skipped).
    if (stack.length === 0 || (stack.length === 1 && isArray)) {
      valueStart = i;
      if (stack.length === 1 && arrayIsEnvelope && values.length >= maxElements) {
        throw new JsonElementCountError(maxElements, i, text);
      }
    }
    const c = text.charCodeAt(i);
    const opensContainer = c === 0x7b /* { */ || c === 0x5b; /* [ */
    if (opensContainer && stack.length + 1 >= tooDeep) {
      const envelope = stack.length === 0 && c === 0x5b && arrayIsEnvelope;
      if (!envelope) {
        throw new JsonDepthError(maxDepth, isArray && arrayIsEnvelope ? values.length : 0, i, text);
      }
    }
    if (c === 0x7b /* { */) {
      stack.push(OBJECT);
      i = skipWhitespace(text, i + 1);
      if (text.charCodeAt(i) !== 0x7d /* } */) {
        i = scanPropertyName(text, i, fail);
        continue valueLoop;
      }
      stack.pop();
      i += 1;
    } else if (c === 0x5b /* [ */) {
      if (stack.length === 0) {
        isArray = true;
        if (arrayIsEnvelope) tooDeep += 1;
      }
      stack.push(ARRAY);
      i = skipWhitespace(text, i + 1);
      if (text.charCodeAt(i) !== 0x5d /* ] */) continue valueLoop;
      stack.pop();
      i += 1;
    } else if (c === 0x22 /* " */) {
      i = scanString(text, i, fail);
    } else if (c === 0x2d /* - */ || isDigit(c)) {
      i = scanNumber(text, i, fail);
    } else if (text.startsWith('true', i)) {
      i += 4;
    } else if (text.startsWith('false', i)) {
      i += 5;
    } else if (text.startsWith('null', i)) {
      i += 4;
    } else {
      fail(`Expected a JSON value but found ${describe(text, i)}`, i);
    }

    // A value just ended at i: close containers until one continues with another value.
    for (;;) {
      if (stack.length === 0 || (stack.length === 1 && isArray)) {
        if (valueStart >= 0 && !(stack.length === 0 && isArray)) values.push({ start: valueStart, end: i });
        valueStart = -1;
      }
      i = skipWhitespace(text, i);
      if (stack.length === 0) {
        if (i < text.length) fail(`Unexpected ${describe(text, i)} after the end of the JSON value`, i);
        return { isArray, values };
      }
      const c2 = text.charCodeAt(i);
      const container = stack[stack.length - 1];
      if (c2 === 0x2c /* , */) {
        i = skipWhitespace(text, i + 1);
        if (container === OBJECT) i = scanPropertyName(text, i, fail);
        continue valueLoop;
      }
      if (container === ARRAY && c2 === 0x5d /* ] */) {
        stack.pop();
        i += 1;
        continue;
      }
      if (container === OBJECT && c2 === 0x7d /* } */) {
        stack.pop();
        i += 1;
        continue;
      }
      fail(
        container === ARRAY
          ? `Expected ',' or ']' after an array element but found ${describe(text, i)}`
          : `Expected ',' or '}' after a property value but found ${describe(text, i)}`,
        i,
      );
    }
  }
}

/** Scans `"name"` and the following `:`; returns the index of the property value (whitespace skipped). */
function scanPropertyName(text: string, i: number, fail: (reason: string, at: number) => never): number {
  if (text.charCodeAt(i) !== 0x22)
    fail(`Expected a double-quoted property name but found ${describe(text, i)}`, i);
  i = skipWhitespace(text, scanString(text, i, fail));
  if (text.charCodeAt(i) !== 0x3a /* : */)
    fail(`Expected ':' after a property name but found ${describe(text, i)}`, i);
  return skipWhitespace(text, i + 1);
}

/** A run of characters that need no check inside a string; the regex engine skips it far faster than a loop. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON strings must not hold
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;

function scanString(text: string, i: number, fail: (reason: string, at: number) => never): number {
  const start = i;
  i += 1;
  for (;;) {
    PLAIN_STRING_RUN.lastIndex = i;
    PLAIN_STRING_RUN.test(text);
    i = PLAIN_STRING_RUN.lastIndex;
    if (i >= text.length) fail('Unterminated string', start);
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) fail('Unescaped control character in string', i);
    if (c === 0x5c /* \ */) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75 /* u */) {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('Invalid \\u escape in string', i);
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if ([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74].includes(e)) {
        i += 2;
        continue;
      }
      fail('Invalid escape sequence in string', i);
    }
    i += 1;
  }
}

function scanNumber(text: string, i: number, fail: (reason: string, at: number) => never): number {
  if (text.charCodeAt(i) === 0x2d) i += 1;
  if (text.charCodeAt(i) === 0x30 /* 0 */) {
    i += 1;
  } else if (isDigit(text.charCodeAt(i))) {
    while (isDigit(text.charCodeAt(i))) i += 1;
  } else {
    fail('Invalid number: expected a digit', i);
  }
  if (text.charCodeAt(i) === 0x2e /* . */) {
    i += 1;
    if (!isDigit(text.charCodeAt(i))) fail('Invalid number: expected a digit after the decimal point', i);
    while (isDigit(text.charCodeAt(i))) i += 1;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45 /* e E */) {
    i += 1;
    const sign = text.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i += 1;
    if (!isDigit(text.charCodeAt(i))) fail('Invalid number: expected a digit in the exponent', i);
    while (isDigit(text.charCodeAt(i))) i += 1;
  }
  return i;
}

function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i += 1;
    else return i;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** One character, quoted and escaped, so an error message never carries more than that of the input. */
function describe(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  const codePoint = text.codePointAt(i) ?? 0;
  return JSON.stringify(String.fromCodePoint(codePoint));
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) count += 1;
  return count;
}
