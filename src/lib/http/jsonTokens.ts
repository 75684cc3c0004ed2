// The scanner's tokens (jsonSyntax.ts): strings, numbers and whitespace, each scanned from an index to
// the index after it; a malformed token is reported through `fail` at the offending character.

/** A run of characters that need no check inside a string; the regex engine skips it far faster than a loop. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON strings must not hold
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;

export function scanString(text: string, i: number, fail: (reason: string, at: number) => never): number {
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

export function scanNumber(text: string, i: number, fail: (reason: string, at: number) => never): number {
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

export function skipWhitespace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i += 1;
    else return i;
  }
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** One character, quoted and escaped, so an error message never carries more than that of the input. */
export function describe(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  const codePoint = text.codePointAt(i) ?? 0;
  return JSON.stringify(String.fromCodePoint(codePoint));
}
