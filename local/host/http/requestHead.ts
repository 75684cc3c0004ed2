// Checks on a request's line and headers that Kestrel makes before the Functions host sees the request
// (Http1Connection.EnsureHostHeaderExists): an HTTP/1.1 request needs exactly one Host header, and it
// must be a valid host[:port] (HttpUtilities.IsHostHeaderValid); otherwise 400. The URL handed to the
// function is built as the host builds it: scheme://Host + path + query
// (GrpcMessageConversionExtensions.ToRpcHttp), so an odd path stays a path.
import type { IncomingMessage } from 'node:http';
import { refusal, type HostRefusal } from './refusals';

/** reg-name characters (RFC 3986) or a bracketed IPv6 literal, then an optional numeric port. */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

export function isValidHost(host: string): boolean {
  return VALID_HOST.test(host);
}

export function checkHostHeader(req: IncomingMessage): HostRefusal | undefined {
  const hosts: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === 'host') hosts.push(req.rawHeaders[i + 1]);
  }
  const invalid = (message: string) => refusal(400, 'invalid_host_header', message);
  if (hosts.length === 0) {
    return req.httpVersion === '1.0' ? undefined : invalid('An HTTP/1.1 request needs a Host header.');
  }
  if (hosts.length > 1) return invalid('The request has more than one Host header.');
  if (!isValidHost(hosts[0])) {
    return invalid(`The Host header ${JSON.stringify(hosts[0].slice(0, 100))} is not a valid host[:port].`);
  }
  return undefined;
}

/** The request's absolute URL as the host forms it; undefined when it does not parse. */
export function requestUrl(req: IncomingMessage, fallbackHost: string): URL | undefined {
  const target = req.url ?? '/';
  try {
    // An absolute-form target (http://host/path) carries its own authority; an origin-form one is a path.
    if (!target.startsWith('/')) return new URL(target);
    return new URL(`http://${req.headers.host || fallbackHost}${target}`);
  } catch {
    return undefined;
  }
}
