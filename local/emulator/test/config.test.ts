// The official emulator's Config.json, read unchanged, with errors that name the bad field.
import { earliestEventPosition, EventHubProducerClient } from '@azure/event-hubs';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, namespaceFromHubs, parseConfig } from '../config';
import { receiveEvents, startEmulatorInProcess } from '../../../test/integration/emulator/helpers';
import { tempDir } from '../../../test/support/tempDir';

// The sample shipped with the official emulator (PartitionCount is a string there).
const OFFICIAL_SAMPLE = {
  UserConfig: {
    NamespaceConfig: [
      {
        Type: 'EventHub',
        Name: 'emulatorNs1',
        Entities: [{ Name: 'eh1', PartitionCount: '2', ConsumerGroups: [{ Name: 'cg1' }] }],
      },
    ],
    LoggingConfig: { Type: 'File' },
  },
};

function withEntities(entities: unknown[]) {
  return { UserConfig: { NamespaceConfig: [{ Type: 'EventHub', Name: 'emulatorNs1', Entities: entities }] } };
}

function errorOf(json: unknown): string {
  try {
    parseConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('emulator configuration', () => {
  test('reads the official sample, with $default implicit', () => {
    expect(parseConfig(OFFICIAL_SAMPLE)).toEqual({
      name: 'emulatorNs1',
      hubs: [{ name: 'eh1', partitionCount: 2, consumerGroups: ['$default', 'cg1'] }],
    });
  });

  test('accepts numbers for PartitionCount and a missing ConsumerGroups list', () => {
    expect(parseConfig(withEntities([{ Name: 'a', PartitionCount: 32 }])).hubs[0]).toEqual({
      name: 'a',
      partitionCount: 32,
      consumerGroups: ['$default'],
    });
  });

  test.each([
    [{}, 'UserConfig must be an object'],
    [
      { UserConfig: { NamespaceConfig: [] } },
      'UserConfig.NamespaceConfig must be an array with exactly one namespace',
    ],
    [withEntities([]), 'UserConfig.NamespaceConfig[0].Entities must be a non-empty array of event hubs'],
    [
      withEntities([
        { Name: 'a', PartitionCount: '1' },
        { Name: 'b', PartitionCount: '0' },
      ]),
      'UserConfig.NamespaceConfig[0].Entities[1].PartitionCount must be 1..32 (got "0")',
    ],
    [
      withEntities([{ Name: 'a', PartitionCount: 'four' }]),
      'UserConfig.NamespaceConfig[0].Entities[0].PartitionCount must be 1..32',
    ],
    [
      withEntities([{ Name: '-bad-', PartitionCount: '1' }]),
      'UserConfig.NamespaceConfig[0].Entities[0].Name must be an event hub name',
    ],
    [
      withEntities([
        { Name: 'a', PartitionCount: '1', ConsumerGroups: [{ Name: 'ok' }, { Name: 'no spaces' }] },
      ]),
      'UserConfig.NamespaceConfig[0].Entities[0].ConsumerGroups[1].Name must be a consumer group name',
    ],
    [
      withEntities([{ Name: 'a', PartitionCount: '1', ConsumerGroups: [{ Name: 'x' }, { Name: 'X' }] }]),
      'UserConfig.NamespaceConfig[0].Entities[0].ConsumerGroups[1].Name duplicates consumer group "X"',
    ],
    [
      withEntities([
        { Name: 'a', PartitionCount: '1' },
        { Name: 'A', PartitionCount: '1' },
      ]),
      'UserConfig.NamespaceConfig[0].Entities[1].Name duplicates event hub "A"',
    ],
    [
      withEntities([
        {
          Name: 'a',
          PartitionCount: '1',
          ConsumerGroups: Array.from({ length: 20 }, (_, i) => ({ Name: `g${i}` })),
        },
      ]),
      'UserConfig.NamespaceConfig[0].Entities[0] has 21 consumer groups including $default; at most 20 are allowed',
    ],
  ])('rejects %j', (json, message) => {
    expect(errorOf(json)).toContain(message);
  });

  test('programmatic hubs are validated the same way', () => {
    expect(() => namespaceFromHubs([{ name: 'a', partitionCount: 33 }])).toThrow(
      'hubs[0].partitionCount must be 1..32',
    );
  });

  test('an emulator started from the official sample serves its hub and consumer groups', async () => {
    const dir = tempDir('config');
    const file = path.join(dir.path, 'Config.json');
    writeFileSync(file, JSON.stringify(OFFICIAL_SAMPLE, null, 2));
    const emulator = await startEmulatorInProcess({ configFile: file });
    try {
      const producer = new EventHubProducerClient(emulator.connectionString, 'eh1');
      expect(await producer.getPartitionIds()).toEqual(['0', '1']);
      await producer.sendBatch([{ body: 'to eh1' }], { partitionId: '0' });
      await producer.close();
      for (const consumerGroup of ['cg1', '$default']) {
        const events = await receiveEvents(emulator.connectionString, 'eh1', '0', earliestEventPosition, 1, {
          consumerGroup,
        });
        expect(events.map((e) => e.body)).toEqual(['to eh1']);
      }
    } finally {
      await emulator.stop();
      dir.remove();
    }
  });

  test('an unreadable or invalid JSON file is reported with its name', async () => {
    const dir = tempDir('config-bad');
    try {
      const file = path.join(dir.path, 'Config.json');
      writeFileSync(file, '{ "UserConfig": ');
      await expect(startEmulatorInProcess({ configFile: file })).rejects.toThrow(
        `config file ${file} is not valid JSON`,
      );
      await expect(
        startEmulatorInProcess({ configFile: path.join(dir.path, 'missing.json') }),
      ).rejects.toThrow(/cannot read config file .*missing\.json/);
    } finally {
      dir.remove();
    }
  });
});
