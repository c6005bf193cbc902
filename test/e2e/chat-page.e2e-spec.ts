/**
 * The sample app's chat page in headless Chromium, against the real sample
 * app: two people chat, the server restarts and both pages come back by
 * themselves, refused and unconfirmed messages say why, a message to someone
 * offline is stored for later and arrives when they are back, and a duplicate
 * login and a wrong token get sentences. Screenshots go to test-output/screenshots (docs/screenshots with `npm run screenshots`).
 */
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'fs';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Browser, Page } from 'playwright-core';
import { IMServer } from '../../lib';
import { IMCore } from '../../lib/core/im-core';
import { AppConfig } from '../../sample-app/app.config';
import { AppModule } from '../../sample-app/app.module';
import { buildChatScript } from '../../sample-app/chat/build-chat';
import { BlockListService } from '../../sample-app/contacts/block-list.service';
import { chromiumAvailable, CHROMIUM_PATH, launchBrowser, screenshotPath } from '../support/browser';

const HOST = '127.0.0.1';
/** Generous: a busy 2-core machine, a server restart and the page's reconnect backoff. */
const WAIT = { timeout: 45_000 };

const available = chromiumAvailable();
if (!available) process.stdout.write(`chat page browser tests skipped: no Chromium at ${CHROMIUM_PATH}\n`);

/** The sample app in this process; `start` with the ports of a previous run restarts it in place. */
async function startApp(config: AppConfig): Promise<{ app: INestApplication; config: AppConfig }> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.IM_TEST_LOGS ? undefined : false });
  await app.listen(config.httpPort, HOST);
  const ports = await app.get(IMServer).ready;
  const httpPort = (app.getHttpServer().address() as AddressInfo).port;
  return { app, config: { ...config, tcpPort: ports.tcp ?? 0, udpPort: ports.udp ?? 0, wsPort: ports.ws ?? 0, httpPort } };
}

(available ? describe : describe.skip)('chat page in Chromium', () => {
  jest.setTimeout(180_000);
  let scriptDir: string;
  let server: { app: INestApplication; config: AppConfig };
  let browser: Browser;
  let alice: Page;
  let bob: Page;

  const url = () => `http://${HOST}:${server.config.httpPort}/`;

  async function openPage(): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1000, height: 640 } })).newPage();
    await page.goto(url());
    return page;
  }

  async function logIn(page: Page, userId: string, token: string): Promise<void> {
    await page.fill('#user-id', userId);
    await page.fill('#token', token);
    await page.click('#login button[type=submit]');
  }

  const status = (page: Page) => page.locator('#status');

  async function expectStatus(page: Page, state: string, text?: RegExp): Promise<void> {
    await page.locator(`#status[data-state=${state}]`).waitFor(WAIT);
    if (text) await waitForText(page, '#status', text);
  }

  async function waitForText(page: Page, selector: string, text: RegExp): Promise<void> {
    await page.waitForFunction(
      ([sel, src]) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ''),
      [selector, text.source] as const,
      WAIT,
    );
  }

  /** Sends `text` in the open conversation; resolves with the message's list item once it reaches `state`. */
  async function send(page: Page, text: string, state: string): Promise<void> {
    await page.fill('#text', text);
    await page.click('#send');
    await page.locator(`#messages li.msg.out[data-state=${state}]`, { hasText: text }).waitFor(WAIT);
  }

  async function openConversation(page: Page, peer: string): Promise<void> {
    await page.click(`#conversations button[data-peer="${peer}"], #online button[data-peer="${peer}"] >> nth=0`);
    await waitForText(page, '#title', new RegExp(`^${peer}$`));
  }

  const received = (page: Page, text: string) => page.locator('#messages li.msg.in', { hasText: text }).waitFor(WAIT);
  const shot = (page: Page, name: string) => page.screenshot({ path: screenshotPath(`chat-${name}.png`) });

  beforeAll(async () => {
    scriptDir = mkdtempSync(join(tmpdir(), 'im-chat-page-'));
    const chatScript = join(scriptDir, 'chat.js');
    await buildChatScript(chatScript);
    server = await startApp({ tcpPort: 0, udpPort: 0, wsPort: 0, httpPort: 0, host: HOST, chatScript });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.app.close();
    rmSync(scriptDir, { recursive: true, force: true });
  });

  it('two people log in and chat both ways; message text is shown as text, never as HTML', async () => {
    [alice, bob] = await Promise.all([openPage(), openPage()]);
    await logIn(alice, 'alice', 'alice-secret');
    await logIn(bob, 'bob', 'bob-secret');
    await expectStatus(alice, 'online', /online as alice/);
    await expectStatus(bob, 'online', /online as bob/);

    // The online list comes from the server (C2S query); bob shows up in alice's.
    await alice.locator('#online button[data-peer="bob"]').waitFor(WAIT);
    await openConversation(alice, 'bob');
    await send(alice, 'Hi Bob, lunch at noon?', 'delivered');

    // Bob has no conversation open: alice's appears in his list with an unread badge.
    await bob.locator('#conversations button[data-peer="alice"] .badge').waitFor(WAIT);
    await openConversation(bob, 'alice');
    await received(bob, 'Hi Bob, lunch at noon?');
    await send(bob, 'Sure, see you there', 'delivered');
    await received(alice, 'Sure, see you there');

    const html = '<b>not bold</b><img src=x onerror="document.title=1">';
    await send(alice, html, 'delivered');
    await received(bob, html);
    expect(await bob.locator('#messages li.msg.in .text', { hasText: 'not bold' }).textContent()).toBe(html);
    expect(await bob.locator('#messages b, #messages img').count()).toBe(0);
    await shot(alice, 'conversation');
  });

  it('after a server restart both pages reconnect by themselves, as the same device, and chat again', async () => {
    const device = (userId: string) => server.app.get(IMCore).online.get(userId)?.firstLoginTime;
    const firstLogins = [device('alice'), device('bob')];
    expect(firstLogins.every((t) => t !== undefined && t > 0)).toBe(true);
    await server.app.close();
    await expectStatus(alice, 'reconnecting');
    await expectStatus(bob, 'reconnecting');
    await waitForText(alice, '#status', /reconnecting/);
    await shot(alice, 'reconnecting');

    server = await startApp(server.config);
    await expectStatus(alice, 'online', /online as alice/);
    await expectStatus(bob, 'online', /online as bob/);
    // The new server saw the first login's time: the same device resuming, not a new one.
    expect([device('alice'), device('bob')]).toEqual(firstLogins);

    await send(alice, 'Still there after the restart?', 'delivered');
    await received(bob, 'Still there after the restart?');
    await send(bob, 'Yes, nothing to click', 'delivered');
    await received(alice, 'Yes, nothing to click');
  });

  it('a refused message shows why it failed (error 403 names its fp)', async () => {
    const blocks = server.app.get(BlockListService);
    blocks.block('bob', 'alice');
    try {
      await send(alice, 'Are you ignoring me?', 'failed');
      await waitForText(alice, '#messages li.msg.out:last-child .state', /not delivered: refused: the recipient does not accept your messages/);
      await shot(alice, 'failed');
    } finally {
      blocks.unblock('bob', 'alice');
    }
  });

  it('a message to an unknown user fails at once, saying why', async () => {
    // Unknown users are not stored: the server answers error 404 with the message's fp
    // (the client asked for it at login), instead of the client giving up after ~15 s.
    await alice.fill('#peer', 'nobody');
    await alice.click('#new-peer button');
    await waitForText(alice, '#title', /^nobody$/);
    await send(alice, 'Anyone there?', 'failed');
    await waitForText(alice, '#messages li.msg.out:last-child .state', /not delivered: the recipient is offline and it could not be stored/);
  });

  it('a message to someone offline shows "stored for later"', async () => {
    await openConversation(alice, 'bob');
    await bob.click('#logout');
    await bob.locator('#login:not([hidden])').waitFor(WAIT);
    // Bob's session is gone on the server before alice writes.
    await alice.waitForFunction(() => !document.querySelector('#online button[data-peer="bob"]'), undefined, WAIT);
    await send(alice, 'Call me when you are back', 'stored');
    await waitForText(alice, '#messages li.msg.out:last-child .state', /stored for later/);
    await shot(alice, 'stored');
  });

  it('the stored message reaches the recipient when they are back, marked as sent while away', async () => {
    await logIn(bob, 'bob', 'bob-secret');
    await expectStatus(bob, 'online', /online as bob/);
    await openConversation(bob, 'alice');
    await received(bob, 'Call me when you are back');
    await waitForText(bob, '#messages li.msg.in:last-child .meta', /sent while you were away/);
  });

  it('logging in on another page signs this one out, with a sentence', async () => {
    const elsewhere = await openPage();
    await logIn(elsewhere, 'bob', 'bob-secret');
    await expectStatus(elsewhere, 'online', /online as bob/);
    await waitForText(bob, '#login-error', /You logged in somewhere else/);
    await elsewhere.context().close();
  });

  it('a wrong token gets a readable refusal', async () => {
    await logIn(bob, 'bob', 'not-the-token');
    await waitForText(bob, '#login-error', /^Wrong user id or token\.$/);
    expect(await status(bob).getAttribute('data-state')).toBe('offline');
    await shot(bob, 'login-refused');
  });
});
