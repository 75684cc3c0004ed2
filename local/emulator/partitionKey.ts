// Maps a partition key to a partition the way Event Hubs does: Bob Jenkins' lookup3 hash
// (hashlittle2) of the UTF-8 key, the two 32-bit results XOR-ed and truncated to a signed 16-bit
// value, modulo the partition count. The JS SDK's buffered producer computes the same function
// client-side, so both producers place a key on the same partition.

export function partitionForKey(partitionKey: string, partitionCount: number): number {
  return Math.abs(hashPartitionKey(partitionKey) % partitionCount);
}

export function hashPartitionKey(partitionKey: string): number {
  const { b, c } = lookup3(Buffer.from(partitionKey, 'utf8'));
  return ((c ^ b) << 16) >> 16;
}

const rot = (x: number, k: number) => (x << k) | (x >>> (32 - k));

function lookup3(data: Buffer): { b: number; c: number } {
  let a = (0xdeadbeef + data.length) | 0;
  let b = a;
  let c = a;
  let i = 0;
  let remaining = data.length;
  while (remaining > 12) {
    a = (a + data.readUInt32LE(i)) | 0;
    b = (b + data.readUInt32LE(i + 4)) | 0;
    c = (c + data.readUInt32LE(i + 8)) | 0;
    // mix(a, b, c)
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0; // prettier-ignore
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0; // prettier-ignore
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0; // prettier-ignore
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0; // prettier-ignore
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0; // prettier-ignore
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0; // prettier-ignore
    i += 12;
    remaining -= 12;
  }
  if (remaining === 0) return { b: b >>> 0, c: c >>> 0 };
  // The tail: up to 12 bytes, little-endian into a, b, c (the switch fall-through of lookup3).
  const byte = (k: number) => (k < remaining ? data[i + k] : 0);
  if (remaining === 12) {
    a = (a + data.readUInt32LE(i)) | 0;
    b = (b + data.readUInt32LE(i + 4)) | 0;
    c = (c + data.readUInt32LE(i + 8)) | 0;
  } else if (remaining >= 8) {
    c = (c + ((byte(10) << 16) | (byte(9) << 8) | byte(8))) | 0;
    b = (b + data.readUInt32LE(i + 4)) | 0;
    a = (a + data.readUInt32LE(i)) | 0;
  } else if (remaining >= 4) {
    b = (b + ((byte(6) << 16) | (byte(5) << 8) | byte(4))) | 0;
    a = (a + data.readUInt32LE(i)) | 0;
  } else {
    a = (a + ((byte(2) << 16) | (byte(1) << 8) | byte(0))) | 0;
  }
  // final(a, b, c)
  c ^= b;
  c = (c - rot(b, 14)) | 0; // prettier-ignore
  a ^= c;
  a = (a - rot(c, 11)) | 0; // prettier-ignore
  b ^= a;
  b = (b - rot(a, 25)) | 0; // prettier-ignore
  c ^= b;
  c = (c - rot(b, 16)) | 0; // prettier-ignore
  a ^= c;
  a = (a - rot(c, 4)) | 0; // prettier-ignore
  b ^= a;
  b = (b - rot(a, 14)) | 0; // prettier-ignore
  c ^= b;
  c = (c - rot(b, 24)) | 0; // prettier-ignore
  return { b: b >>> 0, c: c >>> 0 };
}
