// The shape of the two connection strings the app reads: `Key=Value;` pairs, and for Event Hubs an
// sb:// Endpoint with either a shared access key (name and key) or a shared access signature. The
// callers (settings.ts) turn a problem into a SettingsError that names the setting, never its value.

/** `Key=Value;` pairs; a value may itself contain `=` (base64 keys do). Undefined when malformed. */
export function parseConnectionString(value: string): Record<string, string> | undefined {
  const parts: Record<string, string> = {};
  for (const part of value.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) return undefined;
    parts[trimmed.slice(0, equals).trim()] = trimmed.slice(equals + 1).trim();
  }
  return parts;
}

/** What is wrong with an Event Hubs connection string's parts, or undefined when nothing is. */
export function eventHubsConnectionStringProblem(parts: Record<string, string>): string | undefined {
  if (parts.Endpoint === undefined) return 'missing Endpoint';
  if (!/^sb:\/\/[^\s/;]+\/?$/.test(parts.Endpoint)) return 'Endpoint must look like sb://<host>';
  const hasKey = parts.SharedAccessKeyName !== undefined || parts.SharedAccessKey !== undefined;
  if (parts.SharedAccessSignature !== undefined) {
    if (hasKey) return 'has both SharedAccessSignature and SharedAccessKey';
  } else if (parts.SharedAccessKeyName === undefined) {
    return 'missing SharedAccessKeyName';
  } else if (parts.SharedAccessKey === undefined) {
    return 'missing SharedAccessKey';
  }
  return undefined;
}
