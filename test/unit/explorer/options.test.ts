// The explorer's port: the flag, else EXPLORER_PORT, else the host's port + 10 (any free port when the
// host's is any free port); a taken port stops npm start before anything starts, naming the fix.
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { prepareExplorer } from '../../../local/explorer';
import { explorerPort } from '../../../local/explorer/options';
import { tempDir } from '../../support/tempDir';

describe('the explorer port', () => {
  test('follows the host port unless set', () => {
    expect(explorerPort(undefined, {}, 7071)).toBe(7081);
    expect(explorerPort(undefined, {}, 7072)).toBe(7082);
    expect(explorerPort(undefined, {}, 0)).toBe(0);
    expect(explorerPort(undefined, {}, 65530)).toBe(65520);
    expect(explorerPort(undefined, { EXPLORER_PORT: '9000' }, 7071)).toBe(9000);
    expect(explorerPort(undefined, { EXPLORER_PORT: '0' }, 7071)).toBe(0);
    expect(explorerPort(8123, { EXPLORER_PORT: '9000' }, 7071)).toBe(8123);
  });

  test.each(['x', '-1', '70000', '1.5'])('refuses EXPLORER_PORT=%s', (value) => {
    expect(() => explorerPort(undefined, { EXPLORER_PORT: value }, 7071)).toThrow(
      'EXPLORER_PORT must be a port number',
    );
  });

  test('a taken port is reported with the flag and the setting that move it', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const dir = tempDir('explorer-settings');
    try {
      const file = path.join(dir.path, 'local.settings.json');
      writeFileSync(file, JSON.stringify({ Values: {} }));
      await expect(prepareExplorer({ settingsFile: file, hostPort: 7071, port })).rejects.toThrow(
        `Port ${port} (the explorer) is in use by another program. Free it, or run npm start -- --explorer-port <port>`,
      );
    } finally {
      server.close();
      dir.remove();
    }
  });
});
