// Error messages from SDKs can quote connection strings or SAS tokens; this strips the secret parts
// before anything is logged.
const SECRET_PATTERNS: readonly RegExp[] = [
  /(SharedAccessKey=)[^;\s"']*/gi,
  /(AccountKey=)[^;\s"']*/gi,
  /(SharedAccessSignature[= ])[^;"']*/gi,
  /([?&]sig=)[^&\s"']*/gi,
];

export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((result, pattern) => result.replace(pattern, '$1<redacted>'), text);
}

/** `Name (code): message`, secrets removed, one line. A retried operation's AggregateError: its last error. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const attempts = error.errors.length;
    return `${describeError(error.errors[attempts - 1])} (last of ${attempts} attempts)`;
  }
  if (!(error instanceof Error)) return redactSecrets(String(error)).replace(/\s+/g, ' ');
  const code = (error as { code?: unknown }).code;
  const prefix = typeof code === 'string' && code !== error.name ? `${error.name} (${code})` : error.name;
  return redactSecrets(`${prefix}: ${error.message}`).replace(/\s+/g, ' ');
}
