// Looking at a port before using it: free, or answering like the service we expect, or taken by
// something else (then the user is told which setting moves it).
import { createServer } from 'node:net';

export class PortConflictError extends Error {
  override readonly name = 'PortConflictError';
  readonly code = 'PortConflict';
}

export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export interface HttpProbe {
  status: number;
  headers: Headers;
  body: string;
}

/** GET with a short timeout; undefined when nothing answers HTTP there. */
export async function probeHttp(url: string, timeoutMs = 1500): Promise<HttpProbe | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: response.status, headers: response.headers, body: await response.text() };
  } catch {
    return undefined;
  }
}
