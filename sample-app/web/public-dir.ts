import { existsSync } from 'fs';
import { join, resolve } from 'path';

/**
 * tsc does not copy sample-app/public into dist, so the page is served from
 * the source tree. Works from ts-node/jest (sample-app/web) and from
 * dist/sample-app/web, and from any cwd; IM_PUBLIC_DIR overrides.
 */
export function resolvePublicDir(): string {
  return firstDirWithIndex('chat page', [
    process.env.IM_PUBLIC_DIR,
    join(process.cwd(), 'sample-app', 'public'),
    join(__dirname, '..', 'public'), // running from the TypeScript sources
    join(__dirname, '..', '..', '..', 'sample-app', 'public'), // running from dist/sample-app/web
  ]);
}

/** The first of `candidates` holding an `index.html` (the sample app's pages), or an error naming where it looked. */
export function firstDirWithIndex(what: string, candidates: Array<string | undefined>): string {
  const dirs = candidates.filter((d): d is string => !!d);
  const found = dirs.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`${what} not found; looked in ${dirs.join(', ')}`);
  return resolve(found);
}

/** Where `npm run build` writes the bundled chat page script, from the sources or from dist/sample-app/web. */
export function defaultChatScriptPath(): string {
  return resolve(repoRoot(), 'dist', 'sample-app', 'public', 'chat.js');
}

/** The repository root, from the TypeScript sources (sample-app/web) or from dist/sample-app/web. */
export function repoRoot(): string {
  const fromSource = resolve(__dirname, '..', '..');
  if (existsSync(join(fromSource, 'sample-app', 'chat', 'main.ts'))) return fromSource;
  return resolve(__dirname, '..', '..', '..');
}
