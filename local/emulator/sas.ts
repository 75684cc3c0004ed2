// Shared Access Signature validation, as Event Hubs does it: the signature is
// base64(HMAC-SHA256(key, urlencode(resource) + "\n" + expiry)) with the key used as UTF-8 text.
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
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return { ok: false, reason: 'The token is malformed: sr, sig, se and skn are required.' };
  }
  const keyName = safeDecode(skn);
  const key = keys.find((candidate) => candidate.name === keyName);
  if (!key) {
    return { ok: false, reason: `InvalidSignature: the SAS key name '${keyName}' is not configured.` };
  }
  const expected = createHmac('sha256', key.key).update(`${sr}\n${se}`).digest();
  const given = Buffer.from(safeDecode(sig), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return {
      ok: false,
      reason: `InvalidSignature: The token has an invalid signature (key '${keyName}' does not match).`,
    };
  }
  const expirySeconds = Number(se);
  if (!Number.isFinite(expirySeconds)) return { ok: false, reason: 'The token has an invalid expiry (se).' };
  const expiresAtMs = expirySeconds * 1000;
  if (expiresAtMs <= nowMs) {
    return {
      ok: false,
      reason:
        `ExpiredToken: The token is expired. Expiration time: '${new Date(expiresAtMs).toISOString()}', ` +
        `Current time: '${new Date(nowMs).toISOString()}'.`,
    };
  }
  return { ok: true, keyName, resourcePath: resourcePath(safeDecode(sr)), expiresAtMs };
}

/** The entity path of an audience or resource URI, lower-cased (names are case-insensitive). */
export function resourcePath(uri: string): string {
  return entityPath(uri).toLowerCase();
}

/** True if `scope` (a token's resource path) grants access to `target` (both from resourcePath). */
export function pathCovers(scope: string, target: string): boolean {
  return scope === '' || target === scope || target.startsWith(scope + '/');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
