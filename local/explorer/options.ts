// Which port the explorer takes and which settings it reads. The port: `npm start -- --explorer-port
// <n>`, else EXPLORER_PORT (the shell, or Values in local.settings.json), else the Functions host's
// port + 10 (7081 next to 7071), so that two stacks on two host ports get two explorers, and a host
// on any free port (0, as the tests run it) gets an explorer on any free port too.
import { HostSettingsError } from '../host';
import type { Environment } from '../../src/lib/settings';

export const EXPLORER_PORT_SETTING = 'EXPLORER_PORT';
export const EXPLORER_PORT_OFFSET = 10;

export function explorerPort(explicit: number | undefined, settings: Environment, hostPort: number): number {
  if (explicit !== undefined) return explicit;
  const setting = settings[EXPLORER_PORT_SETTING];
  if (setting !== undefined && setting !== '') {
    const port = Number(setting);
    if (!/^\d+$/.test(setting) || port > 65535)
      throw new HostSettingsError(`${EXPLORER_PORT_SETTING} must be a port number (0 = any free port)`);
    return port;
  }
  if (hostPort === 0) return 0;
  const derived = hostPort + EXPLORER_PORT_OFFSET;
  return derived <= 65535 ? derived : hostPort - EXPLORER_PORT_OFFSET;
}
