// SAS tokens are parsed strictly, as the SDKs' own parser does (azure-sdk-for-net
// SharedAccessSignature.ParseSignature): junk after a valid signature, non-integer expiries, an
// empty resource and malformed fields are refused, each with a reason that quotes no token material.
import { createHmac } from 'node:crypto';
import { DEFAULT_SAS_KEY, validateSasToken } from '../sas';

const NOW_MS = Date.UTC(2026, 0, 1);
const EXPIRY = String(NOW_MS / 1000 + 3600);
const RESOURCE = encodeURIComponent('sb://localhost/events');

function signature(sr = RESOURCE, se = EXPIRY, key = DEFAULT_SAS_KEY.key): string {
  return createHmac('sha256', key).update(`${sr}\n${se}`).digest('base64');
}

function token(fields: Record<string, string>): string {
  const pairs = Object.entries(fields).map(([name, value]) => `${name}=${value}`);
  return `SharedAccessSignature ${pairs.join('&')}`;
}

const valid = { sr: RESOURCE, sig: encodeURIComponent(signature()), se: EXPIRY, skn: DEFAULT_SAS_KEY.name };
const check = (text: string) => validateSasToken(text, [DEFAULT_SAS_KEY], NOW_MS);

describe('SAS token parsing', () => {
  test('a token as the SDKs build it is accepted', () => {
    expect(check(token(valid))).toEqual({
      ok: true,
      keyName: DEFAULT_SAS_KEY.name,
      resourcePath: 'events',
      expiresAtMs: Number(EXPIRY) * 1000,
    });
    // Field order is free, and the signature may be sent without URL-encoding.
    expect(check(token({ skn: valid.skn, se: valid.se, sig: signature(), sr: valid.sr })).ok).toBe(true);
  });

  test.each([
    ['junk after the signature', { ...valid, sig: valid.sig + 'junk' }, /invalid signature/],
    [
      'junk after the padding',
      { ...valid, sig: encodeURIComponent(signature() + '!!') },
      /invalid signature/,
    ],
    [
      'a signature without its padding',
      { ...valid, sig: encodeURIComponent(signature().replace(/=+$/, '')) },
      /invalid signature/,
    ],
    [
      'a signature with spaces',
      { ...valid, sig: encodeURIComponent(' ' + signature()) },
      /invalid signature/,
    ],
    [
      'a truncated signature',
      { ...valid, sig: encodeURIComponent(signature().slice(0, 40)) },
      /invalid signature/,
    ],
  ])('refuses %s', (_, fields, reason) => {
    const result = check(token(fields));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  test.each([
    ['1e15'],
    ['0x7fffffff'],
    ['1.5e9'],
    ['-1'],
    [' 2000000000'],
    ['2000000000.0'],
    ['99999999999999'],
    ['Infinity'],
  ])('refuses the expiry %s, even when signed', (se) => {
    const result = check(
      token({
        ...valid,
        se: encodeURIComponent(se),
        sig: encodeURIComponent(signature(RESOURCE, encodeURIComponent(se))),
      }),
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(
      /malformed: the expiry \(se\) is not a whole number of seconds/,
    );
  });

  test('refuses an empty resource, even when signed', () => {
    const result = check(token({ ...valid, sr: '', sig: encodeURIComponent(signature('')) }));
    expect(!result.ok && result.reason).toMatch(/malformed: 'sr' has no value/);
  });

  test.each([
    ['an empty field', `${token(valid)}&se=`, /'se' has no value/],
    ['a field without a value', `${token(valid)}&flag`, /every field needs a name and a value/],
    ['a repeated field', `${token(valid)}&sr=${RESOURCE}`, /'sr' appears twice/],
    [
      'a missing field',
      token({ sr: valid.sr, sig: valid.sig, se: valid.se }),
      /sr, sig, se and skn are required/,
    ],
    ['bad percent-encoding', token({ ...valid, sr: '%E0%A4%A' }), /sr, sig, se and skn are required/],
    [
      'another scheme',
      token(valid).replace('SharedAccessSignature ', 'Bearer '),
      /not a SharedAccessSignature/,
    ],
  ])('refuses %s', (_, text, reason) => {
    const result = check(text);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  test('reasons never quote the token', () => {
    const secretish = 'c2VjcmV0LXNpZ25hdHVyZQ';
    for (const text of [`${token(valid)}&${secretish}`, `${token(valid)}&${secretish}=1&${secretish}=2`]) {
      const result = check(text);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).not.toContain(secretish);
    }
  });
});
