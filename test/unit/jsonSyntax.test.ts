import { JsonDepthError, JsonElementCountError, JsonSyntaxError } from '../../src/lib/http/jsonErrors';
import { scanJson } from '../../src/lib/http/jsonSyntax';

function values(text: string): string[] {
  const scan = scanJson(text);
  return scan.values.map(({ start, end }) => text.slice(start, end));
}

function syntaxError(text: string): JsonSyntaxError {
  try {
    scanJson(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be invalid`);
}

describe('scanJson', () => {
  test('returns the source text of each top-level array element', () => {
    expect(values('[ 1 , "a,b" , {"k":[1,{"x":"]"}]} , [] , {} , -0.5e+3 , true , false , null ]')).toEqual([
      '1',
      '"a,b"',
      '{"k":[1,{"x":"]"}]}',
      '[]',
      '{}',
      '-0.5e+3',
      'true',
      'false',
      'null',
    ]);
    expect(scanJson('[1]').isArray).toBe(true);
  });

  test('returns a single non-array value without surrounding whitespace', () => {
    expect(values('\n {"a": [1, 2]} \t')).toEqual(['{"a": [1, 2]}']);
    expect(scanJson('{"a":1}').isArray).toBe(false);
    expect(values('"[not an array]"')).toEqual(['"[not an array]"']);
  });

  test('keeps escapes and non-ASCII text exactly', () => {
    expect(values('["\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t", "é😀"]')).toEqual([
      '"\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t"',
      '"é😀"',
    ]);
  });

  test('handles nesting far deeper than a recursive parser could', () => {
    const depth = 100_000;
    const text = `[${'['.repeat(depth)}${']'.repeat(depth)}]`;
    expect(values(text)).toHaveLength(1);
    expect(syntaxError('['.repeat(depth)).position).toBe(depth);
  });

  test.each([
    ['', 0, 'Expected a JSON value but found end of input'],
    ['[1,]', 3, 'Expected a JSON value but found "]"'],
    ['{"a" 1}', 5, `Expected ':' after a property name but found "1"`],
    ['{a:1}', 1, 'Expected a double-quoted property name but found "a"'],
    ['{"a":1,}', 7, 'Expected a double-quoted property name but found "}"'],
    ['[1 2]', 3, `Expected ',' or ']' after an array element but found "2"`],
    ['{"a":1 "b":2}', 7, `Expected ',' or '}' after a property value but found "\\""`],
    ['"abc', 0, 'Unterminated string'],
    ['"a\tb"', 2, 'Unescaped control character in string'],
    ['"\\x"', 1, 'Invalid escape sequence in string'],
    ['"\\u12G4"', 1, 'Invalid \\u escape in string'],
    ['-', 1, 'Invalid number: expected a digit'],
    ['01', 1, 'Unexpected "1" after the end of the JSON value'],
    ['1.', 2, 'Invalid number: expected a digit after the decimal point'],
    ['1e+', 3, 'Invalid number: expected a digit in the exponent'],
    ['+1', 0, 'Expected a JSON value but found "+"'],
    ['NaN', 0, 'Expected a JSON value but found "N"'],
    ["'single'", 0, `Expected a JSON value but found "'"`],
    ['tru', 0, 'Expected a JSON value but found "t"'],
    ['{"a":1}}', 7, 'Unexpected "}" after the end of the JSON value'],
  ])('%j is invalid at position %i: %s', (text, position, reason) => {
    const error = syntaxError(text);
    expect(error.reason).toBe(reason);
    expect(error.position).toBe(position);
    expect(() => JSON.parse(text)).toThrow();
  });

  test('reports 1-based line and column', () => {
    const error = syntaxError('[\n  1,\n  2,\n  x\n]');
    expect([error.position, error.line, error.column]).toEqual([14, 4, 3]);
    expect(error.message).toBe('Expected a JSON value but found "x" at position 14 (line 4, column 3)');
  });

  test('never quotes more than one character of the input', () => {
    const error = syntaxError(`{"password": secret-value-${'x'.repeat(50)}}`);
    expect(error.message).not.toContain('secret');
  });

  test('agrees with JSON.parse on random inputs', () => {
    const alphabet = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      'u',
      '0',
      '1',
      '9',
      '-',
      '+',
      '.',
      'e',
      'E',
      ' ',
      '\n',
      'a',
      't',
      'true',
      'null',
      'false',
      '"k"',
      '\t',
      '\u0001',
      'é',
    ];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      const length = 1 + random(12);
      for (let j = 0; j < length; j++) text += alphabet[random(alphabet.length)];
      let parsed = true;
      try {
        JSON.parse(text);
      } catch {
        parsed = false;
      }
      let scanned = true;
      try {
        scanJson(text);
      } catch (error) {
        if (!(error instanceof JsonSyntaxError)) throw error;
        scanned = false;
      }
      if (parsed !== scanned)
        throw new Error(`disagreement on ${JSON.stringify(text)}: JSON.parse ${parsed}`);
      if (parsed) valid += 1;
    }
    // The generator must produce enough valid documents for the comparison to mean something.
    expect(valid).toBeGreaterThan(500);
  });

  test('agrees with JSON.parse on the elements of valid documents', () => {
    const documents = [
      [1, 'two', { three: [3, { deep: null }] }, [], {}, true, -1.5e-7, 'quote " and \\ and \u2028'],
      { single: 'object', with: ['array'] },
    ];
    for (const document of documents) {
      const text = JSON.stringify(document, null, 2);
      const scanned = values(text).map((value) => JSON.parse(value));
      expect(scanned).toEqual(Array.isArray(document) ? document : [document]);
    }
  });
});

describe('scanJson limits', () => {
  const depthError = (text: string, limits: Parameters<typeof scanJson>[1]) => {
    try {
      scanJson(text, limits);
    } catch (error) {
      if (error instanceof JsonDepthError) return error;
      throw error;
    }
    throw new Error(`expected ${JSON.stringify(text)} to be too deep`);
  };

  test('maxDepth counts the nesting of each element of an envelope array, or of the whole text', () => {
    expect(scanJson('[[[1]], {"a": [2]}]', { maxDepth: 2 }).values).toHaveLength(2);
    expect(depthError('[1, [[[1]]]]', { maxDepth: 2 })).toMatchObject({ maxDepth: 2, index: 1, position: 6 });
    expect(depthError('{"a":{"b":{}}}', { maxDepth: 2 })).toMatchObject({ index: 0, position: 10 });
    expect(scanJson('[[1]]', { maxDepth: 2, arrayIsEnvelope: false }).isArray).toBe(true);
    expect(depthError('[[[1]]]', { maxDepth: 2, arrayIsEnvelope: false })).toMatchObject({ position: 2 });
  });

  test('a depth limit stops a 10-million-deep text at the first bracket too many', () => {
    const text = '['.repeat(10_000_000);
    expect(depthError(text, { maxDepth: 64 })).toMatchObject({ position: 65, line: 1, column: 66 });
  });

  test('maxElements stops at the first element over the limit', () => {
    expect(scanJson('[1,2,3]', { maxElements: 3 }).values).toHaveLength(3);
    expect(() => scanJson('[1,2,3,4', { maxElements: 3 })).toThrow(JsonElementCountError);
    expect(scanJson('[1,2,3,4]', { maxElements: 3, arrayIsEnvelope: false }).isArray).toBe(true);
  });
});
