// The Event Hubs emulator for a test: its command line (local/emulator/cli.ts) as a child process on
// random ports, with the hubs the test needs written as the official Config.json. The one way tests
// outside the emulator's own suite start it (through local/stack, as `npm start` does).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type EmulatorProcess, startEmulatorProcess } from '../../local/stack/processes';
import { tempDir } from './tempDir';

export interface HubSpec {
  name: string;
  partitions: number;
  consumerGroups: string[];
}

export type TestEmulator = EmulatorProcess;

/** The Config.json (UserConfig) form of `hubs`, as Microsoft's emulator reads it. */
export function emulatorConfig(hubs: HubSpec[]): object {
  return {
    UserConfig: {
      NamespaceConfig: [
        {
          Type: 'EventHub',
          Name: 'emulatorNs1',
          Entities: hubs.map((hub) => ({
            Name: hub.name,
            PartitionCount: String(hub.partitions),
            ConsumerGroups: hub.consumerGroups.map((name) => ({ Name: name })),
          })),
        },
      ],
    },
    LoggingConfig: { Type: 'File' },
  };
}

/**
 * Starts the emulator with `hubs`; its config file goes to `dir` (removed with the caller's folder)
 * or to a temp folder of its own, removed on stop.
 */
export async function startTestEmulator(hubs: HubSpec[], dir?: string): Promise<TestEmulator> {
  const own = dir ? undefined : tempDir('emulator-config');
  const configFile = path.join(dir ?? own!.path, 'eventhubs-config.json');
  writeFileSync(configFile, JSON.stringify(emulatorConfig(hubs)));
  let emulator: EmulatorProcess;
  try {
    emulator = await startEmulatorProcess({ amqpPort: 0, healthPort: 0, configFile });
  } catch (error) {
    own?.remove();
    throw error;
  }
  return {
    ...emulator,
    stop: async () => {
      await emulator.stop();
      own?.remove();
    },
  };
}
