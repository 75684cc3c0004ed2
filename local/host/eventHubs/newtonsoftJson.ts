// What the Functions host makes of an Event Hubs body when the trigger declares no dataType: it binds
// object[], and WebJobs' PocoTriggerArgumentBinding runs each body through Newtonsoft.Json 13
// (`JsonConvert.DeserializeObject(body, typeof(object))`, default settings), then the host serialises
// the array once more (GrpcMessageConversionExtensions.ToRpcDefault: `JsonConvert.SerializeObject`).
// This file reproduces both steps: Newtonsoft's lenient reader (comments, single quotes, unquoted
// names, trailing commas, NaN/Infinity, hex and octal integers, MaxDepth 64, any char.IsWhiteSpace) and
// what its round trip does to values (ISO and /Date()/ strings become DateTimes and are written back in
// Newtonsoft's format, offsets converted to the instance's zone, UTC in Azure). Errors carry
// Newtonsoft's message, path, line and position. test/e2e/newtonsoft.test.ts checks all of it against
// the real Newtonsoft.Json 13.0.3 (the version azure-functions-host pins).

export class NewtonsoftJsonError extends Error {
  override readonly name = 'JsonReaderException';
}

/** A JSON value after Newtonsoft's round trip, as JSON text (what the worker then JSON.parses). */
type Json = string;

const MAX_DEPTH = 64;
const LITERAL_KINDS: Record<string, string> = {
  true: 'boolean',
  false: 'boolean',
  null: 'null',
  undefined: 'undefined',
  NaN: 'NaN',
  Infinity: 'Infinity',
  '-Infinity': '-Infinity',
};
// .NET char.IsWhiteSpace; JavaScript's \s differs (it has U+FEFF, lacks U+0085).
const WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const NUMBER_CHAR = /[-.0-9a-fA-FxX+]/;
const IDENTIFIER_CHAR = /[\p{L}\p{N}_$]/u;
// JsonPosition.SpecialCharacters: names with these are written ['name'] in paths.
const PATH_SPECIAL = /[. '/"[\]()\t\n\r\f\b\\\u0085\u2028\u2029]/;

/**
 * `JsonConvert.DeserializeObject(text, typeof(object))` then `JsonConvert.SerializeObject`: the JSON text
 * of the value as the host sends it on ("null" for empty or whitespace-only text). Throws
 * NewtonsoftJsonError with Newtonsoft's message where Newtonsoft throws.
 */
export function newtonsoftRoundTrip(text: string): Json {
  return new Reader(text).readDocument();
}

type PathPart = { kind: 'index'; index: number } | { kind: 'name'; name: string | null };

class Reader {
  private readonly text: string;
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private started = false;
  private readonly path: PathPart[] = [];

  constructor(text: string) {
    this.text = text;
  }

  readDocument(): Json {
    this.skipSpace();
    if (this.pos >= this.text.length) return 'null';
    const value = this.readValue();
    this.skipSpace();
    if (this.pos < this.text.length) {
      throw this.error(
        `Additional text encountered after finished reading JSON content: ${this.text[this.pos]}.`,
        this.pos,
      );
    }
    return value ?? 'null';
  }

  /** A value, or undefined for Newtonsoft's `undefined` (a top-level undefined deserialises to null). */
  private readValue(): Json | undefined {
    const c = this.text[this.pos];
    switch (c) {
      case '"':
      case "'":
        this.started = true;
        return this.stringValue(this.readString(c));
      case '{':
        return this.readObject();
      case '[':
        return this.readArray();
      case 't':
        return this.literal('true', 'true');
      case 'f':
        return this.literal('false', 'false');
      case 'n':
        if (this.text[this.pos + 1] === undefined) {
          this.pos = this.text.length;
          throw this.endOfInput('reading JSON');
        }
        if (this.text[this.pos + 1] !== 'u') {
          throw this.error(`Unexpected character encountered while parsing value: n.`, this.pos);
        }
        return this.literal('null', 'null');
      case 'u':
        this.literal('undefined', '');
        return undefined;
      case 'N':
        return this.literal('NaN', '"NaN"');
      case 'I':
        return this.literal('Infinity', '"Infinity"');
      case '-':
        if (this.text[this.pos + 1] === 'I') return this.literal('-Infinity', '"-Infinity"');
        if (this.text[this.pos + 1] === 'N') {
          throw this.error('Unexpected character encountered while parsing number: N.', this.pos + 1);
        }
        return this.readNumber();
      case ']':
      case ')':
        if (this.path.length === 0) {
          const token = c === ']' ? 'EndArray' : 'EndConstructor';
          throw this.error(
            `JsonToken ${token} is not valid for closing JsonType None.`,
            this.pos + 1,
            this.line,
          );
        }
        throw this.error(`Unexpected character encountered while parsing value: ${c}.`, this.pos);
      case ',':
        if (this.path.length === 0) {
          throw this.error(
            'Additional text encountered after finished reading JSON content: ,.',
            this.pos,
            this.line,
          );
        }
        throw this.error(`Unexpected character encountered while parsing value: ${c}.`, this.pos);
      default:
        if (c !== undefined && /[0-9.]/.test(c)) {
          this.started = true;
          return this.readNumber();
        }
        throw this.error(`Unexpected character encountered while parsing value: ${c}.`, this.pos);
    }
  }

  private readObject(): Json {
    this.enter();
    const start = this.pos;
    this.pos++;
    const members = new Map<string, Json | undefined>();
    const part: PathPart = { kind: 'name', name: null };
    this.path.push(part);
    for (;;) {
      this.skipSpace();
      const c = this.text[this.pos];
      if (c === undefined) {
        throw this.endOfInput(this.pos === start + 1 ? 'reading JSON' : 'deserializing object');
      }
      if (c === '}') break;
      const name = this.readPropertyName();
      this.skipSpace(false);
      const colon = this.text[this.pos] ?? '\u0000';
      if (colon !== ':') {
        throw this.error(
          `Invalid character after parsing property name. Expected ':' but got: ${colon}.`,
          this.pos,
        );
      }
      this.pos++;
      part.name = name;
      this.skipSpace();
      if (this.pos >= this.text.length) throw this.endOfInput('deserializing object');
      const value = this.readValue();
      // Duplicate names: the last value wins, in the first one's place (JObject, like JSON.parse).
      members.set(name, value);
      this.skipSpace();
      const next = this.text[this.pos];
      if (next === undefined) throw this.endOfInput('deserializing object');
      if (next === ',') {
        this.pos++;
        continue;
      }
      if (next === '}') break;
      if (next === ']') throw this.wrongCloser('EndArray', 'Object');
      throw this.error(`After parsing a value an unexpected character was encountered: ${next}.`, this.pos);
    }
    this.pos++;
    this.path.pop();
    const body = [...members].map(([name, value]) => `${JSON.stringify(name)}:${value ?? 'undefined'}`);
    return `{${body.join(',')}}`;
  }

  private readArray(): Json {
    this.enter();
    this.pos++;
    const items: (Json | undefined)[] = [];
    const part: PathPart = { kind: 'index', index: -1 };
    this.path.push(part);
    for (;;) {
      // Comments inside an array are kept as JComment items and written back as /*...*/, which is
      // not JSON: the worker's JSON.parse then fails the invocation, as in Azure.
      this.skipSpace(true, items as Json[]);
      const c = this.text[this.pos];
      if (c === undefined) throw this.endOfToken();
      if (c === ']') break;
      if (c === ',') {
        // `[,1]` and `[1,,2]`: Newtonsoft reads an Undefined token.
        part.index++;
        items.push(undefined);
        this.pos++;
        continue;
      }
      // Newtonsoft's path counts an element before reading a container or a number, after the others.
      const countsFirst = c === '[' || c === '{';
      if (countsFirst) part.index++;
      const item = this.readValue();
      if (!countsFirst) part.index++;
      items.push(item);
      this.skipSpace(true, items as Json[]);
      const next = this.text[this.pos];
      // Newtonsoft quirk: input that ends right after an element closes the open arrays.
      if (next === undefined) break;
      if (next === ',') {
        this.pos++;
        continue;
      }
      if (next === ']') break;
      if (next === '}') throw this.wrongCloser('EndObject', 'Array');
      throw this.error(`After parsing a value an unexpected character was encountered: ${next}.`, this.pos);
    }
    if (this.pos < this.text.length) this.pos++;
    this.path.pop();
    // Undefined values are written as `undefined`, which is not JSON: the worker's JSON.parse then
    // fails that invocation, as it does in Azure.
    const written = items.map((item) => item ?? 'undefined');
    return `[${written.reduce((all, item, i) => (i === 0 || item.startsWith('/*') ? all + item : `${all},${item}`), '')}]`;
  }

  private readPropertyName(): string {
    const c = this.text[this.pos];
    if (c === '"' || c === "'") return this.readString(c);
    if (!IDENTIFIER_CHAR.test(c)) {
      throw this.error(`Invalid property identifier character: ${c}.`, this.pos);
    }
    const start = this.pos;
    while (this.pos < this.text.length && IDENTIFIER_CHAR.test(this.text[this.pos])) this.pos++;
    const end = this.text[this.pos];
    if (end === undefined) throw this.error('Unexpected end while parsing unquoted property name.', this.pos);
    if (end !== ':' && !WHITESPACE.test(end)) {
      throw this.error(`Invalid JavaScript property identifier character: ${end}.`, this.pos);
    }
    return this.text.slice(start, this.pos);
  }

  private readString(quote: string): string {
    let result = '';
    let i = this.pos + 1;
    const text = this.text;
    for (;;) {
      const next = text.indexOf(quote, i);
      const escape = text.indexOf('\\', i);
      if (next === -1 && escape === -1) {
        this.pos = text.length;
        throw this.error(`Unterminated string. Expected delimiter: ${quote}.`, text.length);
      }
      if (escape !== -1 && (next === -1 || escape < next)) {
        result += text.slice(i, escape);
        const code = text[escape + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "'": "'",
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (code === undefined) {
          throw this.error(`Unterminated string. Expected delimiter: ${quote}.`, text.length);
        }
        if (code === 'u') {
          const hex = text.slice(escape + 2, escape + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            throw this.error(`Invalid Unicode escape sequence: \\u${hex}.`, escape + 2);
          }
          result += String.fromCharCode(parseInt(hex, 16));
          i = escape + 6;
        } else if (code in simple) {
          result += simple[code];
          i = escape + 2;
        } else {
          throw this.error(`Bad JSON escape sequence: \\${code}.`, escape + 2);
        }
        continue;
      }
      result += text.slice(i, next);
      this.pos = next + 1;
      this.countLines(i - 1, next);
      return result;
    }
  }

  /** A string value; ISO 8601 and /Date()/ strings are DateTimes to Newtonsoft and come back reformatted. */
  private stringValue(text: string): Json {
    return JSON.stringify(readDateTime(text) ?? text);
  }

  private readNumber(): Json {
    this.started = true;
    const start = this.pos;
    while (this.pos < this.text.length && NUMBER_CHAR.test(this.text[this.pos])) this.pos++;
    const text = this.text.slice(start, this.pos);
    const after = this.text[this.pos];
    if (after !== undefined && !isSeparator(after)) {
      throw this.error(`Unexpected character encountered while parsing number: ${after}.`, this.pos);
    }
    const invalid = () => {
      // The number token is set before it is parsed: the path already counts it.
      const top = this.path[this.path.length - 1];
      if (top?.kind === 'index') top.index++;
      return this.error(`Input string '${text}' is not a valid number.`, this.pos);
    };
    const negative = text.startsWith('-');
    const digits = negative ? text.slice(1) : text;
    // A leading 0 then a digit or x: Convert.ToInt64(text, 8 or 16), which wraps at 64 bits.
    if (/^0[xX]/.test(digits)) {
      if (negative || !/^0[xX][0-9a-fA-F]{1,16}$/.test(digits)) throw invalid();
      return integerText(BigInt.asIntN(64, BigInt(digits)));
    }
    if (/^0[0-9]/.test(digits)) {
      const value = /^[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : null;
      if (value === null || value >= 2n ** 64n) throw invalid();
      return integerText(BigInt.asIntN(64, value) * (negative ? -1n : 1n));
    }
    if (/^[0-9]+$/.test(digits)) return integerText(BigInt(text));
    if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(digits)) throw invalid();
    const value = Number(text);
    if (value === Infinity) return '"Infinity"';
    if (value === -Infinity) return '"-Infinity"';
    return Object.is(value, -0) ? '-0.0' : String(value);
  }

  /** Newtonsoft's MatchValueWithTrailingSeparator: the whole word, then a separator or the end. */
  private literal(word: string, json: Json): Json {
    const kind = LITERAL_KINDS[word];
    if (this.pos + word.length > this.text.length) {
      this.pos = this.text.length;
      throw this.endOfInput('reading JSON');
    }
    for (let k = 0; k < word.length; k++) {
      const c = this.text[this.pos + k];
      if (c !== word[k]) throw this.error(`Error parsing ${kind} value.`, this.pos + k);
    }
    const after = this.text[this.pos + word.length];
    if (after !== undefined && !isSeparator(after)) {
      throw this.error(`Error parsing ${kind} value.`, this.pos + word.length);
    }
    this.pos += word.length;
    this.started = true;
    return json;
  }

  private enter(): void {
    this.started = true;
    if (this.path.length >= MAX_DEPTH) {
      throw this.error(`The reader's MaxDepth of ${MAX_DEPTH} has been exceeded.`, this.pos + 1);
    }
  }

  /** Skips whitespace and (unless told not to) comments; comments go to `kept` when given. */
  private skipSpace(comments = true, kept?: Json[]): void {
    const text = this.text;
    for (;;) {
      const c = text[this.pos];
      if (c === undefined) return;
      if (c === '\n' || (c === '\r' && text[this.pos + 1] !== '\n')) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (WHITESPACE.test(c)) {
        this.pos++;
      } else if (!comments) {
        return;
      } else if (c === '/' && text[this.pos + 1] === '*') {
        const end = text.indexOf('*/', this.pos + 2);
        if (end === -1) {
          this.countLines(this.pos, text.length);
          this.pos = text.length;
          throw this.error('Unexpected end while parsing comment.', text.length);
        }
        this.countLines(this.pos, end);
        kept?.push(`/*${text.slice(this.pos + 2, end)}*/`);
        this.pos = end + 2;
      } else if (c === '/' && text[this.pos + 1] === '/') {
        const start = this.pos + 2;
        while (this.pos < text.length && text[this.pos] !== '\n' && text[this.pos] !== '\r') this.pos++;
        kept?.push(`/*${text.slice(start, this.pos)}*/`);
      } else if (c === '/') {
        const next = text[this.pos + 1];
        if (next === undefined || this.pos + 2 >= text.length) {
          throw this.error('Unexpected end while parsing comment.', this.pos + 1);
        }
        throw this.error(`Error parsing comment. Expected: *, got ${next}.`, this.pos + 1);
      } else {
        return;
      }
    }
  }

  private countLines(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (this.text[i] === '\n') {
        this.line++;
        this.lineStart = i + 1;
      }
    }
  }

  private wrongCloser(token: string, container: string): NewtonsoftJsonError {
    this.path.pop();
    return this.error(`JsonToken ${token} is not valid for closing JsonType ${container}.`, this.pos + 1);
  }

  private endOfInput(what: 'reading JSON' | 'deserializing object'): NewtonsoftJsonError {
    return this.error(`Unexpected end when ${what}.`, this.text.length);
  }

  /** An array left open: Newtonsoft's JTokenWriter reports it without a line or position. */
  private endOfToken(): NewtonsoftJsonError {
    return new NewtonsoftJsonError(`Unexpected end when reading token. Path ''.`);
  }

  private error(message: string, at: number, line = !this.started && at === this.lineStart ? 0 : this.line) {
    const position = at - this.lineStart;
    return new NewtonsoftJsonError(
      `${message} Path '${this.formatPath()}', line ${line}, position ${position}.`,
    );
  }

  private formatPath(): string {
    let path = '';
    for (const part of this.path) {
      if (part.kind === 'index') {
        if (part.index >= 0) path += `[${part.index}]`;
      } else if (part.name !== null) {
        path += PATH_SPECIAL.test(part.name)
          ? `['${part.name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`
          : `${path === '' ? '' : '.'}${part.name}`;
      }
    }
    return path;
  }
}

function isSeparator(c: string): boolean {
  return WHITESPACE.test(c) || ',]})/'.includes(c);
}

/** Int64 or BigInteger: written back digit for digit (the worker's JSON.parse then rounds big ones). */
function integerText(value: bigint): Json {
  return value.toString();
}

// ---- DateTime (DateParseHandling.DateTime, DateTimeZoneHandling.RoundtripKind) ----

const MIN_MS = dateUtcMs(1, 1, 1);
const MAX_TICKS_MS = dateUtcMs(9999, 12, 31) + 86_399_999;

function dateUtcMs(year: number, month: number, day: number): number {
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getTime();
}

/**
 * The string Newtonsoft writes back for a string it reads as a DateTime, or null when it stays a string.
 * Only `yyyy-MM-ddTHH:mm:ss[.f{1,7}][Z|±HH[[:]mm]]` (DateTimeParser) and `/Date(ms[±HHmm])/` qualify.
 */
export function readDateTime(text: string): string | null {
  const microsoft = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(text);
  if (microsoft) {
    const ms = Number(microsoft[1]);
    if (!Number.isSafeInteger(ms)) return null;
    // With an offset it is a local DateTime: written in the instance's zone, UTC in Azure.
    return formatDateTime(ms, 0, microsoft[2] === undefined ? 'Z' : '+00:00');
  }
  if (text.length < 19 || text.length > 40 || !/^\d/.test(text) || text[10] !== 'T') return null;
  const iso =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(?:([zZ])|([+-])(\d{2})(?::?(\d{2}))?)?$/.exec(
      text,
    );
  if (!iso) return null;
  const [, y, mo, d, h, mi, s, fraction = '', utc, sign, zh, zm = '00'] = iso;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  if (year < 1 || month < 1 || month > 12 || day < 1) return null;
  if (day > new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0)) {
    return null;
  }
  if (hour > 24 || Number(mi) > 59 || Number(s) > 59) return null;
  const ticks = Number(fraction.padEnd(7, '0'));
  if (hour === 24 && (Number(mi) !== 0 || Number(s) !== 0 || ticks !== 0)) return null;
  let ms = dateUtcMs(year, month, day) + ((hour * 60 + Number(mi)) * 60 + Number(s)) * 1000;
  ms += Math.floor(ticks / 10_000);
  const subMillisecond = ticks % 10_000;
  if (sign === undefined) return formatDateTime(ms, subMillisecond, utc === undefined ? '' : 'Z');
  ms -= (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm)) * 60_000;
  return formatDateTime(ms, subMillisecond, '+00:00');
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** "yyyy-MM-ddTHH:mm:ss.FFFFFFFK": trailing fraction zeros (and the dot) dropped; clamped to DateTime's range. */
function formatDateTime(ms: number, subMillisecond: number, zone: string): string {
  if (ms < MIN_MS) return `0001-01-01T00:00:00${zone}`;
  if (ms > MAX_TICKS_MS) return `9999-12-31T23:59:59.9999999${zone}`;
  const date = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const fraction = `${pad(date.getUTCMilliseconds(), 3)}${pad(subMillisecond, 4)}`.replace(/0+$/, '');
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}` +
    `${fraction ? `.${fraction}` : ''}${zone}`
  );
}
