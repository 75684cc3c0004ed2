// A JSON syntax scanner (RFC 8259, the grammar JSON.parse accepts). It exists for two reasons:
// - JSON.parse's messages differ between Node versions, often lack a position and quote the input;
//   this reports a stable message with position, line and column instead;
// - it returns the exact source text of each element of a top-level array, so events are published
//   byte for byte as sent (no precision lost on large numbers, no key reordering).
// Iterative, so deeply nested input cannot overflow the stack; optional limits on nesting depth and on
// the number of top-level array elements stop hostile input early, at the offending character.
// Tokens are in jsonTokens.ts, errors in jsonErrors.ts.
import { JsonDepthError, JsonElementCountError, JsonSyntaxError } from './jsonErrors';
import { describe, isDigit, scanNumber, scanString, skipWhitespace } from './jsonTokens';

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
