/**
 * The /admin console in headless Chromium against the real sample app: it
 * lists two logged-in users, and a kick clicked in it reaches the user.
 * Saves admin.png (the README's copy with `npm run screenshots`).
 */
import type { Browser } from 'playwright-core';
import { PacketType } from '../../lib';
import { MessageType } from '../../sample-app/im/message-types';
import { chromiumAvailable, launchBrowser, screenshotPath } from '../support/browser';
import { RunningSample, startSampleApp } from '../support/sample-app';

const TOKEN = 'console-test-token';
const describeBrowser = chromiumAvailable() ? describe : describe.skip;
if (!chromiumAvailable()) console.log('/usr/bin/chromium not found: skipping the admin console browser test');

describeBrowser('admin console in Chromium', () => {
  let s: RunningSample;
  let browser: Browser;

  beforeAll(async () => {
    s = await startSampleApp({ adminToken: TOKEN });
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('lists the users online, pushes to one and kicks another', async () => {
    const alice = await s.login('alice', 'tcp');
    const bob = await s.login('bob', 'ws');
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(`${s.http}/admin`);
    await page.fill('#token', TOKEN);
    await page.click('#token-form button');
    await page.waitForSelector('tr[data-user="alice"]', { timeout: 20_000 });
    await page.waitForSelector('tr[data-user="bob"]', { timeout: 20_000 });
    expect(await page.textContent('tr[data-user="bob"]')).toContain('ws');

    // Traffic while the chart draws a few points: C2C each way, bounded in count and time.
    let chartDrawn = false;
    const traffic = (async () => {
      for (let i = 0; i < 400 && !chartDrawn; i++) {
        const [from, to, toClient] = i % 3 === 0 ? [bob, 'alice', alice] : [alice, 'bob', bob];
        from.c2c(to, `hello ${i}`);
        toClient.ack(await toClient.expect({ type: PacketType.DATA, dataContent: `hello ${i}` }));
        await from.expect({ type: PacketType.ACK });
        if (i % 2 === 0) {
          alice.c2s(`read ${i}`, { typeu: MessageType.READ_RECEIPT });
          await alice.expect({ type: PacketType.ACK });
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    try {
      await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.points) >= 6, undefined, { timeout: 30_000 });
    } finally {
      chartDrawn = true;
      await traffic;
    }
    expect(Number(await page.textContent('#t-delivered'))).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('admin.png') });

    // The push form: alice gets the message, ACKs it, and the page shows the outcome.
    await page.fill('#push-user', 'alice');
    await page.fill('#push-text', 'from the console');
    await page.click('#push-form button');
    alice.ack(await alice.expect({ type: PacketType.DATA, dataContent: 'from the console' }, 20_000));
    await page.waitForFunction(() => document.getElementById('push-result')?.textContent === 'alice: delivered', undefined, { timeout: 20_000 });

    await page.fill('#search', 'bo');
    await page.waitForFunction(() => !document.querySelector('tr[data-user="alice"]'), undefined, { timeout: 20_000 });
    await page.click('button[data-kick="bob"]');
    const kick = await bob.expect({ type: PacketType.KICKOUT }, 20_000);
    expect(JSON.parse(kick.dataContent as string)).toMatchObject({ code: 2, reason: 'kicked from the admin console' });
    await bob.expectClosed();
    await page.waitForSelector('tr[data-user="bob"]', { state: 'detached', timeout: 20_000 });
    await page.close();
  });
});
