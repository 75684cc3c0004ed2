// The emulator's partition-key hash against the SDK's own client-side mapper, over many keys.
import { randomBytes } from 'node:crypto';
import { hashPartitionKey, partitionForKey } from '../partitionKey';
// Internal to the SDK (used by its buffered producer), so imported by path.
import { mapPartitionKeyToId } from '../../../node_modules/@azure/event-hubs/dist/commonjs/impl/partitionKeyToIdMapper.js';

describe('partition key mapping', () => {
  test('matches the SDK for keys of every length and partition count', () => {
    const keys = [
      '',
      'a',
      'abc',
      'customer-1',
      'ключ',
      '🔑 emoji',
      'x'.repeat(12),
      'y'.repeat(13),
      'z'.repeat(300),
    ];
    for (let length = 0; length < 40; length++) {
      for (let n = 0; n < 25; n++) keys.push(randomBytes(length).toString('base64').slice(0, length));
    }
    for (const partitionCount of [1, 2, 3, 4, 7, 16, 32]) {
      for (const key of keys) {
        expect([key, partitionForKey(key, partitionCount)]).toEqual([
          key,
          mapPartitionKeyToId(key, partitionCount),
        ]);
      }
    }
  });

  test('pins known placements, so a change on either side is noticed', () => {
    // Values of the SDK 6.0.4 mapper; the service places keys the same way.
    const known: [string, number, number, number][] = [
      ['tenant-1', -1190, 2, 6],
      ['tenant-2', 2842, 2, 26],
      ['tenant-3', 29085, 1, 29],
      ['customer-42', -30336, 0, 0],
      ['', 0, 0, 0],
    ];
    for (const [key, hash, of4, of32] of known) {
      expect([key, hashPartitionKey(key), partitionForKey(key, 4), partitionForKey(key, 32)]).toEqual([
        key,
        hash,
        of4,
        of32,
      ]);
    }
  });
});
