import { join } from 'path';
import { firstDirWithIndex } from '../web/public-dir';

/** Where the console's files are: tsc does not copy them into dist, so they are served from the source tree. */
export function resolveAdminDir(): string {
  return firstDirWithIndex('admin console', [
    join(__dirname, 'public'), // running from the TypeScript sources
    join(__dirname, '..', '..', '..', 'sample-app', 'admin', 'public'), // running from dist/sample-app/admin
    join(process.cwd(), 'sample-app', 'admin', 'public'),
  ]);
}
