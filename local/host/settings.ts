// local.settings.json, as Core Tools reads it: `Values` become the app's environment (a variable
// already set in the environment wins, with a notice), `Host.LocalHttpPort` is the HTTP port, and
// `%NAME%` in binding options resolves against those settings.
import { existsSync, readFileSync } from 'node:fs';

export interface LocalSettings {
  /** The file that was read, or undefined when there was none. */
  file?: string;
  values: Record<string, string>;
  localHttpPort?: number;
}

export class HostSettingsError extends Error {
  override readonly name = 'HostSettingsError';
  readonly code = 'InvalidSettings';
}

export function readLocalSettings(file: string): LocalSettings {
  if (!existsSync(file)) return { values: {} };
  let parsed: { Values?: Record<string, unknown>; Host?: { LocalHttpPort?: unknown }; IsEncrypted?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new HostSettingsError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed.IsEncrypted === true) {
    throw new HostSettingsError(
      `${file} is encrypted (IsEncrypted=true); the local host reads plain values only`,
    );
  }
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed.Values ?? {})) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') throw new HostSettingsError(`${file}: Values.${name} must be a string`);
    values[name] = String(value);
  }
  const port = parsed.Host?.LocalHttpPort;
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 0 && (port as number) < 65536)) {
    throw new HostSettingsError(
      `${file}: Host.LocalHttpPort must be a port number, got ${JSON.stringify(port)}`,
    );
  }
  return { file, values, localHttpPort: port as number | undefined };
}

/**
 * Copies settings into the environment the app reads (`process.env`). Returns the names that were
 * skipped because the environment already defines them, as Core Tools does.
 */
export function applyToEnvironment(
  values: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const skipped: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (env[name] !== undefined && env[name] !== value) skipped.push(name);
    else env[name] = value;
  }
  return skipped;
}

/** Resolves `%NAME%` references (the host's binding expressions for app settings). */
export function resolveSettingReferences(value: string, env: NodeJS.ProcessEnv = process.env): string {
  return value.replace(/%([^%]+)%/g, (_match, name: string) => {
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      throw new HostSettingsError(
        `'%${name}%' does not resolve to a value: add "${name}" to local.settings.json Values`,
      );
    }
    return resolved;
  });
}

/**
 * Reads a setting that may be a plain value or a section of `__`-separated keys (identity-based
 * connections: `<Prefix>__fullyQualifiedNamespace`, `<Prefix>__credential`, ...). Keys are compared
 * case-insensitively, as the host's configuration does.
 */
export function readSettingSection(
  prefix: string,
  env: NodeJS.ProcessEnv = process.env,
): { value?: string; section: Record<string, string> } {
  const section: Record<string, string> = {};
  let value: string | undefined;
  const lowerPrefix = prefix.toLowerCase();
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || raw === '') continue;
    const lower = name.toLowerCase();
    if (lower === lowerPrefix) value = raw;
    else if (lower.startsWith(`${lowerPrefix}__`)) section[lower.slice(lowerPrefix.length + 2)] = raw;
  }
  return { value, section };
}
