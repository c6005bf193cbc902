import { existsSync } from 'fs';
import { join, resolve } from 'path';

/** Where the console's files are: tsc does not copy them into dist, so they are served from the source tree. */
export function resolveAdminDir(): string {
  const candidates = [
    join(__dirname, 'public'), // running from the TypeScript sources
    join(__dirname, '..', '..', '..', 'sample-app', 'admin', 'public'), // running from dist/sample-app/admin
    join(process.cwd(), 'sample-app', 'admin', 'public'),
  ];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`admin console not found; looked in ${candidates.join(', ')}`);
  return resolve(found);
}
