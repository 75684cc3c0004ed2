// Who may talk to the explorer: a page open in the developer's browser from another site must not be
// able to drive it. Every request must name the explorer itself in its Host header (a DNS-rebinding
// page reaches 127.0.0.1 under its own host name), and every request that changes something (send,
// replay, delete) must come from the explorer's own origin (a cross-site form or fetch carries the
// other site's Origin, or a Sec-Fetch-Site other than same-origin). Refusals are 403 and run nothing.
import type { IncomingHttpHeaders } from 'node:http';

export const READ_METHODS = new Set(['GET', 'HEAD']);
export const WRITE_METHODS = new Set(['POST']);

export type Verdict = { allowed: true } | { allowed: false; status: 403 | 405; message: string };

/** The Host values that name this explorer: 127.0.0.1 or localhost with its port. */
export function allowedHosts(port: number): Set<string> {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (port === 80) hosts.push('127.0.0.1', 'localhost');
  return new Set(hosts);
}

export function checkRequest(
  method: string | undefined,
  headers: IncomingHttpHeaders,
  port: number,
  rawHeaders: string[] = [],
): Verdict {
  const hostHeaders = rawHeaders.filter((_, index) => index % 2 === 0 && /^host$/i.test(rawHeaders[index]));
  const host = headers.host?.toLowerCase();
  if (hostHeaders.length > 1 || host === undefined || !allowedHosts(port).has(host)) {
    return {
      allowed: false,
      status: 403,
      message: `Host ${JSON.stringify(headers.host ?? '')} is not this explorer (127.0.0.1:${port} or localhost:${port}).`,
    };
  }
  if (method !== undefined && READ_METHODS.has(method)) return { allowed: true };
  if (method === undefined || !WRITE_METHODS.has(method)) {
    return { allowed: false, status: 405, message: `Method ${method ?? ''} is not allowed.` };
  }
  const origin = headers.origin;
  if (origin !== `http://${host}`) {
    return {
      allowed: false,
      status: 403,
      message: `Origin ${JSON.stringify(origin ?? null)} is not this explorer's (http://${host}): cross-site requests change nothing.`,
    };
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    return {
      allowed: false,
      status: 403,
      message: `Sec-Fetch-Site ${site}: only same-origin requests change things.`,
    };
  }
  return { allowed: true };
}
