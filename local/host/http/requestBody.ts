// Reading a request body as the Functions host does before it invokes a function: only a body whose
// length the request declares (GrpcMessageConversionExtensions.ToRpcHttp reads the body only when
// ContentLength > 0, so a chunked upload reaches the function with no body: host #7930,
// nodejs-worker #524), at most the host's body limit, and no slower than Kestrel's minimum data rate.
// The body is copied into one buffer of the declared size as it arrives: no list of chunks to join,
// and nothing of it kept once the invocation is done.
import type { IncomingMessage } from 'node:http';
import type { Exchange } from './exchanges';
import type { HostLimits } from './hostLimits';
import { refusal, type HostRefusal } from './refusals';

export type BodyResult =
  | { kind: 'complete'; body: Buffer }
  | { kind: 'refused'; refusal: HostRefusal }
  /** The client went away: nobody to answer. */
  | { kind: 'gone' };

/** The declared Content-Length, when the host would pass a body (Node's parser already refused invalid values). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  return header === undefined ? undefined : Number(header);
}

export function tooLarge(limits: HostLimits): HostRefusal {
  return refusal(
    413,
    'request_body_too_large',
    `The request body is larger than ${limits.maxRequestBodyBytes} bytes, the host's limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT).`,
  );
}

/**
 * Watches the data rate of a body being read, as Kestrel's heartbeat does: once a second, after the
 * grace period, a body slower on average than the minimum rate is refused with 408.
 */
export function watchBodyRate(
  limits: HostLimits,
  bytesRead: () => number,
  onTooSlow: (fault: HostRefusal) => void,
): () => void {
  const started = performance.now();
  const timer = setInterval(() => {
    const elapsedMs = performance.now() - started;
    if (elapsedMs <= limits.bodyRateGracePeriodMs) return;
    const rate = bytesRead() / (elapsedMs / 1000);
    if (rate >= limits.minBodyBytesPerSecond) return;
    clearInterval(timer);
    onTooSlow(
      refusal(
        408,
        'request_body_timeout',
        `The request body arrived too slowly (${bytesRead()} bytes in ${Math.round(elapsedMs / 1000)} s; ` +
          `the host requires ${limits.minBodyBytesPerSecond} bytes/s after a ${limits.bodyRateGracePeriodMs / 1000} s grace period).`,
      ),
    );
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}

export function readDeclaredBody(
  exchange: Exchange,
  length: number,
  limits: HostLimits,
): Promise<BodyResult> {
  const { req } = exchange;
  return new Promise((resolve) => {
    const body = Buffer.allocUnsafe(length);
    let received = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      stopWatching();
      req.off('data', onData);
      if (result.kind !== 'complete') req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      chunk.copy(body, received);
      received += chunk.length;
    };
    const stopWatching = watchBodyRate(
      limits,
      () => received,
      (fault) => settle({ kind: 'refused', refusal: fault }),
    );
    exchange.onFault((fault) => settle({ kind: 'refused', refusal: fault }));
    req.on('data', onData);
    req.once('end', () =>
      settle({ kind: 'complete', body: received === length ? body : body.subarray(0, received) }),
    );
    req.once('close', () => settle({ kind: 'gone' }));
  });
}
