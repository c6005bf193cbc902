/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by
 * playwright-core (no browser download). `.ci/run` installs it when missing.
 */
import { existsSync, mkdirSync } from 'fs';
import { join } from 'path';
import type { Browser } from 'playwright-core';

/**
 * Where a browser test saves its screenshot `name`: the README's copies in
 * `docs/screenshots` with `UPDATE_SCREENSHOTS=1` (`npm run screenshots`),
 * otherwise `test-output/screenshots` (ignored by git), so a test run leaves
 * the working tree clean.
 */
export function screenshotPath(name: string): string {
  const root = join(__dirname, '..', '..');
  const dir = process.env.UPDATE_SCREENSHOTS === '1' ? join(root, 'docs', 'screenshots') : join(root, 'test-output', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

/** The Chromium binary the tests drive. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** False on a machine without Chromium; browser suites then skip, saying so once. */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Launches headless Chromium. playwright gives every launch a fresh temporary
 * profile (its own `--user-data-dir`, removed on close), and the flags keep the
 * browser off the network except for the pages a test opens.
 */
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
