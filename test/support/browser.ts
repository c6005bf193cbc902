/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by
 * playwright-core (no browser download). `.ci/run` installs it when missing.
 */
import { existsSync } from 'fs';
import type { Browser } from 'playwright-core';

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
