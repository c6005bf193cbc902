/**
 * Bundles the chat page (`main.ts` and the `nestjs-im/client` code it imports)
 * into one browser script with esbuild. `npm run build` runs it; the browser
 * test calls `buildChatScript` itself, so `npm test` needs no prior build.
 */
import { build } from 'esbuild';
import { join } from 'path';
import { defaultChatScriptPath, repoRoot } from '../web/public-dir';

/** Writes the bundled page script to `outfile`; rejects on any build error. */
export async function buildChatScript(outfile: string = defaultChatScriptPath()): Promise<void> {
  await build({
    entryPoints: [join(repoRoot(), 'sample-app', 'chat', 'main.ts')],
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
  });
}

if (require.main === module) {
  buildChatScript(process.argv[2]).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
