// The connection string of the project's Event Hubs emulator: its fixed development key (as
// Microsoft's emulator has) and UseDevelopmentEmulator=true, which makes the SDKs speak plain AMQP.
export const EMULATOR_KEY_NAME = 'RootManageSharedAccessKey';
export const EMULATOR_KEY = 'SAS_KEY_VALUE';

export function emulatorConnectionString(port: number, host = '127.0.0.1'): string {
  return `Endpoint=sb://${host}:${port};SharedAccessKeyName=${EMULATOR_KEY_NAME};SharedAccessKey=${EMULATOR_KEY};UseDevelopmentEmulator=true;`;
}
