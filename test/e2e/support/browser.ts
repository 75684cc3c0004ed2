// A real browser for the explorer's tests: Debian's Chromium (apt-get install -y chromium, as .ci/run
// does) driven by playwright-core, headless, with a new empty profile, and without any of Chromium's
// own traffic (updates, sync, QUIC probes), so that every request seen is one the page made.
import { chromium, type BrowserContext } from 'playwright-core';
import { existsSync } from 'node:fs';
import { tempDir } from '../../support/tempDir';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  // launchPersistentContext passes the folder as --user-data-dir: a fresh profile per run.
  const profile = tempDir('explorer-chromium');
  const context = await chromium.launchPersistentContext(profile.path, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      profile.remove();
    },
  };
}
