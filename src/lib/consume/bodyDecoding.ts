// Each event's body decoded by its own content type: JSON parsed, UTF-8 text as a string, anything else
// as the bytes. A body that contradicts its content type fails that event alone (BodyDecodeError).
import { isUtf8 } from 'node:buffer';
import type { ConsumedEvent, ReceivedEvent } from './triggerEvents';

/** A body that does not match its declared content type: that event's failure, never the batch's. */
export class BodyDecodeError extends Error {
  override readonly name = 'BodyDecodeError';
}

/** The body the handler gets; throws BodyDecodeError when the body contradicts its content type. */
export function decodeEvent(event: ReceivedEvent): ConsumedEvent {
  const { delivered, ...rest } = event;
  void delivered;
  const body = Buffer.isBuffer(event.delivered)
    ? decodeBody(event.rawBody, event.contentType)
    : event.delivered;
  return { ...rest, body };
}

export function decodeBody(bytes: Buffer, contentType: string | null): unknown {
  const media = parseMediaType(contentType);
  if (media === null) {
    if (!isUtf8(bytes)) return bytes;
    const text = bytes.toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  if (media.type === 'application/json' || media.type.endsWith('+json')) {
    const text = utf8Text(bytes, contentType);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new BodyDecodeError(
        `The body is declared ${media.type} but is not valid JSON (${(error as Error).message})`,
      );
    }
  }
  if (media.type.startsWith('text/') && (media.charset === null || isUtf8Charset(media.charset))) {
    return utf8Text(bytes, contentType);
  }
  return bytes;
}

function utf8Text(bytes: Buffer, contentType: string | null): string {
  if (!isUtf8(bytes)) {
    throw new BodyDecodeError(`The body is declared ${contentType} but is not valid UTF-8`);
  }
  return bytes.toString('utf8');
}

function parseMediaType(contentType: string | null): { type: string; charset: string | null } | null {
  if (contentType === null || contentType.trim() === '') return null;
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  const charset = parameters.find((parameter) => parameter.startsWith('charset='));
  return { type, charset: charset === undefined ? null : charset.slice('charset='.length).replace(/"/g, '') };
}

function isUtf8Charset(charset: string): boolean {
  return charset === 'utf-8' || charset === 'utf8';
}
