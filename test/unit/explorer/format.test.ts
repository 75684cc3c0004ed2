// How the page shows bodies: JSON re-indented from its own text (digits and key order kept), bytes
// as a hex dump. Property-based: any JSON value, written any way, re-indents to the same tokens.
import fc from 'fast-check';
import { hexDump, prettyJson, renderBody } from '../../../local/explorer/page/format';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

const tokens = (text: string) => text.replace(/("(?:[^"\\]|\\.)*")|\s+/g, (_match, string) => string ?? '');

describe('explorer body rendering', () => {
  test('keeps digits beyond double precision and key order', () => {
    const text = '{"b":12345678901234567890,"a":[1,{"c":"x y"}],"e":{},"f":[]}';
    expect(prettyJson(text)).toBe(
      '{\n  "b": 12345678901234567890,\n  "a": [\n    1,\n    {\n      "c": "x y"\n    }\n  ],\n  "e": {},\n  "f": []\n}',
    );
  });

  test('is not JSON for text, and shows text as it is', () => {
    expect(prettyJson('{"unterminated')).toBeUndefined();
    expect(
      renderBody({ kind: 'bytes', encoding: 'utf8', text: 'plain words', byteLength: 11 }, 'text/plain'),
    ).toEqual({
      label: 'Text (11 bytes)',
      text: 'plain words',
    });
  });

  test('shows bytes as a hex dump with offsets and printable characters', () => {
    expect(hexDump(Uint8Array.from([0x00, 0x41, 0xff]))).toBe(`00000000  00 41 ff${' '.repeat(39)}  .A.`);
    expect(renderBody({ kind: 'bytes', encoding: 'base64', text: 'AEH/', byteLength: 3 }, null).label).toBe(
      'Bytes (hex, 3 bytes)',
    );
  });

  test('re-indenting any JSON text changes only whitespace outside strings', () => {
    const json = fc
      .jsonValue()
      .chain((value) =>
        fc
          .constantFrom(0, 1, 2)
          .map((indent) => JSON.stringify(value, null, indent === 0 ? undefined : indent)),
      );
    fc.assert(
      fc.property(json, (text) => {
        const pretty = prettyJson(text);
        if (pretty === undefined) return; // deeper than the page re-indents: shown as sent
        expect(tokens(pretty)).toBe(tokens(text));
        expect(JSON.parse(pretty)).toEqual(JSON.parse(text));
      }),
      { numRuns: RUNS },
    );
  });
});
