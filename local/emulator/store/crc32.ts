// CRC-32 (IEEE) for record framing. zlib.crc32 exists from Node 20.15; older 20.x use the table.
import zlib from 'node:zlib';

type Crc32 = (data: Buffer, initial?: number) => number;

const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

const TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function portable(data: Buffer, initial = 0): number {
  let crc = ~initial;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

export const crc32: Crc32 = native ?? portable;
