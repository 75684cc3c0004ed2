// The explorer's request guard: Host must name the explorer (DNS rebinding), writes must come from its
// own origin (cross-site requests), other methods are refused.
import { checkRequest } from '../../../local/explorer/guard';

const PORT = 7081;

describe('explorer request guard', () => {
  test.each(['127.0.0.1:7081', 'localhost:7081', 'LOCALHOST:7081'])(
    'reads with Host %s are allowed',
    (host) => {
      expect(checkRequest('GET', { host }, PORT)).toEqual({ allowed: true });
    },
  );

  test.each([
    ['a rebinding name', 'attacker.example:7081'],
    ['another port', '127.0.0.1:7082'],
    ['no port', '127.0.0.1'],
    ['an IPv6 loopback the explorer does not listen on', '[::1]:7081'],
    ['a name that ends like localhost', 'evil.localhost:7081'],
    ['nothing', undefined],
  ])('Host of %s is refused with 403', (_what, host) => {
    const verdict = checkRequest('GET', host === undefined ? {} : { host }, PORT);
    expect(verdict).toMatchObject({ allowed: false, status: 403 });
  });

  test('two Host headers are refused', () => {
    const verdict = checkRequest('GET', { host: '127.0.0.1:7081' }, PORT, [
      'Host',
      '127.0.0.1:7081',
      'host',
      'attacker.example',
    ]);
    expect(verdict).toMatchObject({ allowed: false, status: 403 });
  });

  test('a POST from the same origin is allowed, under either name', () => {
    for (const host of ['127.0.0.1:7081', 'localhost:7081']) {
      expect(
        checkRequest('POST', { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, PORT),
      ).toEqual({
        allowed: true,
      });
    }
  });

  test.each([
    ['no Origin', { host: '127.0.0.1:7081' }],
    ['a foreign Origin', { host: '127.0.0.1:7081', origin: 'http://attacker.example' }],
    ['the other loopback name', { host: '127.0.0.1:7081', origin: 'http://localhost:7081' }],
    ['Origin null (a sandboxed frame or file)', { host: '127.0.0.1:7081', origin: 'null' }],
    ['https of the same host', { host: '127.0.0.1:7081', origin: 'https://127.0.0.1:7081' }],
    [
      'a cross-site fetch that claims the origin',
      { host: '127.0.0.1:7081', origin: 'http://127.0.0.1:7081', 'sec-fetch-site': 'cross-site' },
    ],
  ])('a POST with %s is refused with 403', (_what, headers) => {
    expect(checkRequest('POST', headers, PORT)).toMatchObject({ allowed: false, status: 403 });
  });

  test.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'])('%s is refused with 405', (method) => {
    expect(
      checkRequest(method, { host: '127.0.0.1:7081', origin: 'http://127.0.0.1:7081' }, PORT),
    ).toMatchObject({
      allowed: false,
      status: 405,
    });
  });
});
