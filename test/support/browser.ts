import { existsSync } from 'fs';
import { Browser, chromium } from 'playwright-core';

/** Debian's Chromium; playwright-core never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/** Whether browser tests can run; they print one line and skip otherwise. */
export const hasChromium = (): boolean => existsSync(CHROMIUM);

/** Launches headless Chromium with no network of its own (no updates, no sync, no QUIC). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
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
