// The trigger's metadata values in every shape a host has sent them: numbers, numeric strings, bigints
// and {low, high} longs for sequence numbers and offsets, times with or without a zone.

/** The exact bytes when the host delivered bytes; otherwise the delivered value as text. Never throws. */
export function rawBodyOf(delivered: unknown): Buffer {
  if (Buffer.isBuffer(delivered)) return delivered;
  if (delivered instanceof Uint8Array)
    return Buffer.from(delivered.buffer, delivered.byteOffset, delivered.byteLength);
  if (typeof delivered === 'string') return Buffer.from(delivered, 'utf8');
  if (delivered === undefined || delivered === null) return Buffer.alloc(0);
  try {
    return Buffer.from(JSON.stringify(delivered) ?? '', 'utf8');
  } catch {
    return Buffer.alloc(0);
  }
}

/** Numbers, numeric strings, bigints and {low, high} longs (as one worker version sent them). */
export function toSequenceNumber(value: unknown): number | null {
  const big = toBigInt(value);
  return big === null ? null : Number(big);
}

/** Offsets are opaque strings in Event Hubs (numeric-looking ones arrive as numbers). */
export function toOffset(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  const big = toBigInt(value);
  return big === null ? null : big.toString();
}

/** The host sends UTC times, sometimes without the trailing Z; without a zone they are read as UTC. */
export function toUtcIso(value: unknown): string | null {
  let time: number;
  if (value instanceof Date) {
    time = value.getTime();
  } else if (typeof value === 'number') {
    time = value;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    const hasZone = /(?:[zZ]|[+-]\d\d(?::?\d\d)?)$/.test(text) && /T/.test(text);
    time = Date.parse(hasZone || !/T/.test(text) ? text : `${text}Z`);
  } else {
    return null;
  }
  return Number.isFinite(time) ? new Date(time).toISOString() : null;
}

function toBigInt(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : null;
  if (typeof value === 'string') return /^-?\d+$/.test(value.trim()) ? BigInt(value.trim()) : null;
  const long = asRecord(value);
  if (typeof long.low === 'number' && typeof long.high === 'number') {
    const high = long.unsigned === true ? long.high >>> 0 : long.high;
    return (BigInt(high) << 32n) + BigInt(long.low >>> 0);
  }
  return null;
}

export function asScalarText(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return asString(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

export function asString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return null;
}
