// Shared Access Signature validation, as Event Hubs does it: the signature is
// base64(HMAC-SHA256(key, urlencode(resource) + "\n" + expiry)) with the key used as UTF-8 text.
// Parsing is strict, as the SDKs' own parser (azure-sdk-for-net, Azure.Messaging.EventHubs.Shared
// src/Authorization/SharedAccessSignature.cs, ParseSignature) is: every field has a value, the
// resource is not empty, the expiry is an integer (long.TryParse, NumberStyles.Integer, so not
// "1e15" or "0x7fffffff"). The signature must be exactly the canonical base64 of the 32-byte MAC:
// Node's base64 decoder skips characters it does not know and stops at padding, which would let
// junk after a valid signature pass.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { entityPath } from './addresses';

export interface SasKey {
  name: string;
  key: string;
}

export type SasResult =
  { ok: true; keyName: string; resourcePath: string; expiresAtMs: number } | { ok: false; reason: string };

/** The default key of the official emulator; a published placeholder, not a secret. */
export const DEFAULT_SAS_KEY: SasKey = { name: 'RootManageSharedAccessKey', key: 'SAS_KEY_VALUE' };

export function validateSasToken(token: string, keys: SasKey[], nowMs = Date.now()): SasResult {
  const prefix = 'SharedAccessSignature ';
  if (!token.startsWith(prefix)) {
    return { ok: false, reason: 'The token is not a SharedAccessSignature token.' };
  }
  const fields = new Map<string, string>();
  for (const pair of token.slice(prefix.length).split('&')) {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    // Token material is never echoed back: names only, and only the known ones.
    const shown = KNOWN_FIELDS.has(name) ? `'${name}'` : 'a field';
    if (eq <= 0) return malformed('every field needs a name and a value');
    if (eq === pair.length - 1) return malformed(`${shown} has no value`);
    if (fields.has(name)) return malformed(`${shown} appears twice`);
    fields.set(name, pair.slice(eq + 1));
  }
  const [sr, sig, se, skn] = [...KNOWN_FIELDS].map((name) => decodeField(fields.get(name)));
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return malformed('sr, sig, se and skn are required, each URL-encoded once');
  }
  const key = keys.find((candidate) => candidate.name === skn);
  if (!key) {
    return { ok: false, reason: `InvalidSignature: the SAS key name '${skn}' is not configured.` };
  }
  const expected = createHmac('sha256', key.key)
    .update(`${fields.get('sr')}\n${fields.get('se')}`)
    .digest();
  const given = Buffer.from(sig, 'base64');
  if (
    given.toString('base64') !== sig ||
    given.length !== expected.length ||
    !timingSafeEqual(given, expected)
  ) {
    return {
      ok: false,
      reason: `InvalidSignature: The token has an invalid signature (key '${skn}' does not match).`,
    };
  }
  // Whole seconds since the epoch, within the range of a Date.
  if (!/^[0-9]{1,13}$/.test(se) || Number(se) > MAX_EXPIRY_SECONDS) {
    return malformed('the expiry (se) is not a whole number of seconds since 1970');
  }
  const expiresAtMs = Number(se) * 1000;
  if (expiresAtMs <= nowMs) {
    return {
      ok: false,
      reason:
        `ExpiredToken: The token is expired. Expiration time: '${new Date(expiresAtMs).toISOString()}', ` +
        `Current time: '${new Date(nowMs).toISOString()}'.`,
    };
  }
  return { ok: true, keyName: skn, resourcePath: resourcePath(sr), expiresAtMs };
}

/** The entity path of an audience or resource URI, lower-cased (names are case-insensitive). */
export function resourcePath(uri: string): string {
  return entityPath(uri).toLowerCase();
}

/** True if `scope` (a token's resource path) grants access to `target` (both from resourcePath). */
export function pathCovers(scope: string, target: string): boolean {
  return scope === '' || target === scope || target.startsWith(scope + '/');
}

const KNOWN_FIELDS = new Set(['sr', 'sig', 'se', 'skn']);
const MAX_EXPIRY_SECONDS = 8_640_000_000_000; // the last second a Date can hold

function malformed(detail: string): SasResult {
  return { ok: false, reason: `The token is malformed: ${detail}.` };
}

/** A field's value URL-decoded; undefined if absent or not valid percent-encoding. */
function decodeField(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
