// How bodies and times read on the page. JSON is re-indented from its own source text, never parsed
// and re-serialised: digits beyond double precision and key order stay exactly as sent.
import type { BodyView } from '../api';

/** Bodies larger than this are shown as sent, not re-indented. */
const PRETTY_LIMIT = 256 * 1024;
const MAX_PRETTY_DEPTH = 64;

export interface RenderedBody {
  /** What the text is, in words: "JSON", "Text", "Bytes (hex)", "AMQP value". */
  label: string;
  text: string;
}

export function renderBody(body: BodyView, contentType: string | null): RenderedBody {
  if (body.kind === 'amqpValue')
    return { label: 'AMQP value (JSON)', text: prettyJson(body.json) ?? body.json };
  if (body.encoding === 'base64')
    return { label: `Bytes (hex, ${body.byteLength} bytes)`, text: hexDump(base64Bytes(body.text)) };
  const looksJson = /json/i.test(contentType ?? '') || /^\s*[[{"]/.test(body.text);
  const pretty = looksJson ? prettyJson(body.text) : undefined;
  if (pretty !== undefined) return { label: `JSON (${body.byteLength} bytes)`, text: pretty };
  return { label: `Text (${body.byteLength} bytes)`, text: body.text };
}

/** One line, for lists: the body's start with whitespace collapsed. */
export function bodyPreview(body: BodyView, maxChars = 120): string {
  const text =
    body.kind === 'amqpValue'
      ? body.json
      : body.encoding === 'utf8'
        ? body.text
        : hexPairs(base64Bytes(body.text).subarray(0, Math.ceil(maxChars / 3)));
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > maxChars ? `${flat.slice(0, maxChars - 1)}…` : flat || '(empty body)';
}

/** Re-indents valid JSON by its tokens; undefined when the text is not JSON (or too big or deep). */
export function prettyJson(text: string): string | undefined {
  if (text.length > PRETTY_LIMIT) return undefined;
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  let out = '';
  let depth = 0;
  let inString = false;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i];
      else if (char === '"') inString = false;
      continue;
    }
    if (/\s/.test(char)) continue;
    if (char === '"') {
      inString = true;
      out += char;
    } else if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      let next = i + 1;
      while (/\s/.test(text[next] ?? '')) next++;
      if (text[next] === close) {
        out += char + close;
        i = next;
        continue;
      }
      depth++;
      if (depth > MAX_PRETTY_DEPTH) return undefined;
      out += char + newline();
    } else if (char === '}' || char === ']') {
      depth--;
      out += newline() + char;
    } else if (char === ',') {
      out += char + newline();
    } else if (char === ':') {
      out += ': ';
    } else {
      out += char;
    }
  }
  return out;
}

export function base64Bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function hexPairs(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

/** `offset  hex bytes  printable ASCII`, 16 bytes a line. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const ascii = Array.from(row, (byte) =>
      byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.',
    ).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hexPairs(row).padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n') || '(empty body)';
}

/** `2026-11-23 21:10:22.857 UTC`: unambiguous, sortable, the same in every time zone. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (isNaN(date.getTime())) return iso;
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

export function clock(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toISOString().slice(11, 23);
}
