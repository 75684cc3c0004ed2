// The limits the Functions host's web server (Kestrel) puts on a request, with the same defaults, so a
// request the local host accepts is one Azure accepts too.
// - Body size: ScriptConstants.DefaultMaxRequestBodySize (104,857,600), set on Kestrel in
//   WebJobs.Script.WebHost/Program.cs; FUNCTIONS_REQUEST_BODY_SIZE_LIMIT overrides it
//   (Middleware/HttpRequestBodySizeMiddleware.cs).
// - Body data rate: Kestrel's MinRequestBodyDataRate, 240 bytes/s after a 5 s grace period, checked
//   once a second (KestrelServerLimits); slower bodies get 408.
// - Headers: Kestrel's RequestHeadersTimeout (30 s, 408), MaxRequestHeadersTotalSize (32 KiB) plus
//   MaxRequestLineSize (8 KiB); KeepAliveTimeout (130 s).

export const DEFAULT_MAX_REQUEST_BODY_BYTES = 104_857_600;
export const BODY_SIZE_LIMIT_SETTING = 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT';

export interface HostLimits {
  maxRequestBodyBytes: number;
  minBodyBytesPerSecond: number;
  bodyRateGracePeriodMs: number;
  headersTimeoutMs: number;
  maxHeaderBytes: number;
  keepAliveTimeoutMs: number;
}

export const KESTREL_DEFAULTS: Omit<HostLimits, 'maxRequestBodyBytes'> = {
  minBodyBytesPerSecond: 240,
  bodyRateGracePeriodMs: 5_000,
  headersTimeoutMs: 30_000,
  maxHeaderBytes: (32 + 8) * 1024,
  keepAliveTimeoutMs: 130_000,
};

/** As HttpRequestBodySizeMiddleware: a setting that parses as a number replaces the default. */
export function readHostLimits(env: Record<string, string | undefined> = process.env): HostLimits {
  const setting = env[BODY_SIZE_LIMIT_SETTING]?.trim();
  const parsed = setting !== undefined && /^\d+$/.test(setting) ? Number(setting) : undefined;
  return { ...KESTREL_DEFAULTS, maxRequestBodyBytes: parsed ?? DEFAULT_MAX_REQUEST_BODY_BYTES };
}
