import { describeParseFailure } from '../../../local/host/http/exchanges';
import { DEFAULT_MAX_REQUEST_BODY_BYTES, readHostLimits } from '../../../local/host/http/hostLimits';
import { isValidHost } from '../../../local/host/http/requestHead';

test("the body limit is the host's 104,857,600 bytes unless FUNCTIONS_REQUEST_BODY_SIZE_LIMIT parses as a number", () => {
  expect(DEFAULT_MAX_REQUEST_BODY_BYTES).toBe(104_857_600);
  expect(readHostLimits({}).maxRequestBodyBytes).toBe(104_857_600);
  expect(readHostLimits({ FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '5000' }).maxRequestBodyBytes).toBe(5000);
  expect(readHostLimits({ FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '5 MB' }).maxRequestBodyBytes).toBe(104_857_600);
  expect(readHostLimits({})).toMatchObject({ minBodyBytesPerSecond: 240, bodyRateGracePeriodMs: 5000 });
});

test.each([
  ['localhost', true],
  ['127.0.0.1:7071', true],
  ['[::1]', true],
  ['[::1]:7071', true],
  ['my-app.azurewebsites.net', true],
  ['', true],
  ['[::1', false],
  ['a b', false],
  ['host:port', false],
  ['a/b', false],
  ['a@b', false],
])('Host %j is valid: %s', (host, valid) => {
  expect(isValidHost(host)).toBe(valid);
});

test('a request line with a method llhttp does not know is routed like any other, as Kestrel would', () => {
  const error = Object.assign(new Error('Invalid method encountered'), {
    code: 'HPE_INVALID_METHOD',
    rawPacket: Buffer.from('FOO /api/x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n'),
  });
  expect(describeParseFailure(error)).toEqual({ kind: 'unknownMethod', method: 'FOO', path: '/api/x?y=1' });
  const garbage = Object.assign(new Error('Invalid method encountered'), {
    code: 'HPE_INVALID_METHOD',
    rawPacket: Buffer.from('GARBAGE'),
  });
  expect(describeParseFailure(garbage)).toMatchObject({
    kind: 'refuse',
    refusal: { status: 400, code: 'bad_request' },
  });
  expect(describeParseFailure(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' }))).toMatchObject({
    refusal: { status: 431 },
  });
});
