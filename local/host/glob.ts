// The entry-point patterns package.json `main` may hold (`dist/src/functions/*.js`, `{a,b}`, `**`),
// expanded as the worker does with globby. Node 20 has no fs.glob.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export function expandGlob(pattern: string, cwd: string): string[] {
  const found = new Set<string>();
  for (const alternative of expandBraces(pattern.replace(/\\/g, '/').replace(/^\.\//, ''))) {
    for (const file of walk(cwd, alternative.split('/').filter(Boolean))) found.add(file);
  }
  return [...found].sort();
}

function expandBraces(pattern: string): string[] {
  const match = /\{([^{}]*)\}/.exec(pattern);
  if (!match) return [pattern];
  const before = pattern.slice(0, match.index);
  const after = pattern.slice(match.index + match[0].length);
  return match[1].split(',').flatMap((option) => expandBraces(before + option + after));
}

function walk(dir: string, segments: string[]): string[] {
  if (segments.length === 0) return isFile(dir) ? [dir] : [];
  const [segment, ...rest] = segments;
  if (segment === '**') {
    const here = walk(dir, rest);
    const deeper = subdirectories(dir).flatMap((sub) => walk(path.join(dir, sub), segments));
    return [...here, ...deeper];
  }
  if (!/[*?]/.test(segment)) return walk(path.join(dir, segment), rest);
  const matcher = segmentMatcher(segment);
  return entries(dir)
    .filter((name) => matcher.test(name))
    .flatMap((name) => walk(path.join(dir, name), rest));
}

function segmentMatcher(segment: string): RegExp {
  let source = '';
  for (const char of segment) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith('.'));
  } catch {
    return [];
  }
}

function subdirectories(dir: string): string[] {
  return entries(dir).filter((name) => name !== 'node_modules' && isDirectory(path.join(dir, name)));
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
