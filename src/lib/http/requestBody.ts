// Reads a request's body within MAX_REQUEST_BYTES, refusing it as soon as it is known to be larger.
import type { HttpRequest } from '@azure/functions';
import { HttpError } from './httpErrors';

export async function readBody(request: HttpRequest, maxRequestBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, 'request_too_large', `The request body is larger than ${maxRequestBytes} bytes.`, {
      maxRequestBytes,
    });
  const contentLength = request.headers.get('content-length');
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > maxRequestBytes) throw tooLarge();
  if (request.body === null) {
    // The Functions host passes a body only when the request declares its length (host #7930,
    // nodejs-worker #524): a chunked upload would otherwise look like an empty one.
    if (contentLength === null) throw lengthRequired(request.headers.get('transfer-encoding'));
    return Buffer.alloc(0);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxRequestBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  // A buffered request arrives as one chunk (the library's Request holds the body as one array): its
  // bytes are used where they are, not copied again.
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

function lengthRequired(transferEncoding: string | null): HttpError {
  const how =
    transferEncoding === null
      ? 'without a Content-Length header'
      : `with Transfer-Encoding ${JSON.stringify(transferEncoding.slice(0, 40))}`;
  return new HttpError(
    411,
    'length_required',
    `The request was sent ${how}; the Functions host passes no body without one. Send the body with a Content-Length header (buffer it instead of streaming it).`,
  );
}
