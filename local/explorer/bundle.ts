// The page: plain TypeScript and DOM (local/explorer/page), bundled with esbuild when the explorer
// starts, in memory. Nothing is written to dist/ (which is deployed) and nothing is loaded from
// outside this machine: one HTML file, one script, one stylesheet, all served by the explorer.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const PAGE_DIR = path.join(__dirname, 'page');

export interface PageAssets {
  [file: string]: { contentType: string; body: Buffer };
}

export async function bundlePage(): Promise<PageAssets> {
  const result = await build({
    entryPoints: [path.join(PAGE_DIR, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    platform: 'browser',
    tsconfig: path.join(PAGE_DIR, 'tsconfig.json'),
    logLevel: 'silent',
  });
  const [script] = result.outputFiles;
  return {
    '/': {
      contentType: 'text/html; charset=utf-8',
      body: await readFile(path.join(PAGE_DIR, 'index.html')),
    },
    '/app.js': { contentType: 'text/javascript; charset=utf-8', body: Buffer.from(script.contents) },
    '/app.css': {
      contentType: 'text/css; charset=utf-8',
      body: await readFile(path.join(PAGE_DIR, 'styles.css')),
    },
  };
}
