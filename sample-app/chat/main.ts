/**
 * The sample app's chat page, on the shipped client (`nestjs-im/client`),
 * bundled for the browser by esbuild at build time (`build-chat.ts`).
 * Everything shown is set with `textContent`: message text is never HTML.
 */
import { AutoReconnect, IMClient, newFingerprint, Packet, ServerErrorInfo, WsLink } from '../../lib/client';
import { AwayNotice, MessageType, OnlineUsers, StoredNotice } from '../im/message-types';
import { ChatMessage, Conversations } from './conversations';
import { kickedText, loginRefusalText, lostText, sendErrorText } from './texts';

/** How often the online list is asked for while logged in. */
const ONLINE_POLL_MS = 5000;
/** A lost message is blamed on the rate limit when a 429 came this recently. */
const RATE_LIMIT_MEMORY_MS = 20_000;

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const ui = {
  status: byId<HTMLSpanElement>('status'),
  logout: byId<HTMLButtonElement>('logout'),
  loginForm: byId<HTMLFormElement>('login'),
  userId: byId<HTMLInputElement>('user-id'),
  token: byId<HTMLInputElement>('token'),
  loginError: byId<HTMLParagraphElement>('login-error'),
  chat: byId<HTMLElement>('chat'),
  online: byId<HTMLUListElement>('online'),
  conversations: byId<HTMLUListElement>('conversations'),
  newPeer: byId<HTMLFormElement>('new-peer'),
  peer: byId<HTMLInputElement>('peer'),
  title: byId<HTMLHeadingElement>('title'),
  notice: byId<HTMLParagraphElement>('notice'),
  messages: byId<HTMLOListElement>('messages'),
  composer: byId<HTMLFormElement>('composer'),
  text: byId<HTMLInputElement>('text'),
  send: byId<HTMLButtonElement>('send'),
};

interface Session {
  client: IMClient;
  reconnect: AutoReconnect;
  userId: string;
  poll: ReturnType<typeof setInterval>;
}

let session: Session | null = null;
let onlineUsers: string[] = [];
let rateLimitedAt = 0;
const conversations = new Conversations(() => render());

/** The IM server's WebSocket URL, from the HTTP server's /config.json (its port may be ephemeral). */
async function serverUrl(): Promise<string> {
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`/config.json: HTTP ${res.status}`);
  const c = (await res.json()) as { wsPort: number; wsPath: string };
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${c.wsPort}${c.wsPath}`;
}

type Status = 'offline' | 'connecting' | 'online' | 'reconnecting';

function setStatus(state: Status, text: string): void {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
  updateComposer();
}

/** Typing is possible only while logged in with a conversation open. */
function updateComposer(): void {
  const canSend = ui.status.dataset.state === 'online' && conversations.open !== null;
  ui.text.disabled = !canSend;
  ui.send.disabled = !canSend;
}

function showLogin(message = ''): void {
  ui.loginForm.hidden = false;
  ui.chat.hidden = true;
  ui.logout.hidden = true;
  ui.loginError.textContent = message;
  setStatus('offline', 'offline');
}

async function logIn(userId: string, token: string): Promise<void> {
  ui.loginError.textContent = '';
  setStatus('connecting', 'connecting…');
  let url: string;
  try {
    url = await serverUrl();
  } catch {
    return showLogin('Cannot reach the chat server. Is it running?');
  }
  const client = new IMClient(() => new WsLink({ url }), { senseMode: '5S' });
  try {
    await client.connect();
  } catch {
    return showLogin('Cannot reach the chat server. Is it running?');
  }
  let code: number;
  try {
    ({ code } = await client.login({ userId, token }));
  } catch {
    await client.close();
    return showLogin('The server did not answer the login. Try again.');
  }
  if (code !== 0) return showLogin(loginRefusalText(code));
  start(client, userId, token);
}

function start(client: IMClient, userId: string, token: string): void {
  const reconnect = new AutoReconnect(client, { userId, token });
  session = { client, reconnect, userId, poll: setInterval(queryOnline, ONLINE_POLL_MS) };
  ui.loginForm.hidden = true;
  ui.chat.hidden = false;
  ui.logout.hidden = false;
  online(userId);

  client.on('message', onMessage);
  client.on('error', onServerError);
  client.on('kicked', (info) => end(kickedText(info.code, info.reason)));
  reconnect.on('scheduled', ({ attempt, delayMs }) => {
    // Who is online is unknown until the server answers again.
    onlineUsers = [];
    render();
    setStatus('reconnecting', `connection lost, reconnecting in ${Math.ceil(delayMs / 1000)} s (attempt ${attempt})…`);
  });
  reconnect.on('reconnected', () => online(userId));
  reconnect.on('refused', (result) => end(loginRefusalText(result.code)));
}

function online(userId: string): void {
  setStatus('online', `online as ${userId}`);
  ui.notice.textContent = '';
  queryOnline();
}

/** Leaves the chat view for the login form, with why. */
function end(message: string): void {
  if (!session) return;
  clearInterval(session.poll);
  session.reconnect.stop();
  void session.client.close();
  session = null;
  onlineUsers = [];
  showLogin(message);
}

function queryOnline(): void {
  if (session?.client.isLoggedIn) void session.client.sendC2S('', { typeu: MessageType.ONLINE_QUERY, qos: false }).catch(() => undefined);
}

function onMessage(p: Packet): void {
  const text = p.dataContent ?? '';
  if (p.from !== '0') {
    conversations.received(p.from as string, p.fp ?? newFingerprint(), text, Date.now());
    return;
  }
  switch (p.typeu) {
    case MessageType.STORED:
      conversations.stored((JSON.parse(text) as StoredNotice).fp);
      return;
    case MessageType.SENT_WHILE_AWAY: {
      const notice = JSON.parse(text) as AwayNotice;
      conversations.sentWhileAway(notice.from, notice.fp, notice.storedAt);
      return;
    }
    case MessageType.ONLINE_USERS:
      onlineUsers = (JSON.parse(text) as OnlineUsers).users;
      render();
      return;
    default:
      conversations.received('server', p.fp ?? newFingerprint(), text, Date.now());
  }
}

function onServerError(info: ServerErrorInfo): void {
  if (info.errorCode === 429) rateLimitedAt = Date.now();
  if (info.fp !== undefined && conversations.isPending(info.fp)) {
    conversations.failed(info.fp, `not delivered: ${sendErrorText(info.errorCode)}`);
    return;
  }
  ui.notice.textContent = `The server says: ${sendErrorText(info.errorCode)}.`;
}

async function send(peer: string, text: string): Promise<void> {
  if (!session) return;
  const fp = newFingerprint();
  conversations.sending(peer, fp, text, Date.now());
  try {
    const outcome = await session.client.sendC2C(peer, text, { fp });
    if (outcome === 'delivered') conversations.acknowledged(fp);
    else conversations.failed(fp, lostText(Date.now() - rateLimitedAt < RATE_LIMIT_MEMORY_MS));
  } catch {
    conversations.failed(fp, 'not sent: you are offline');
  }
}

// ------------------------------------------------------------------ rendering

const STATE_TEXT = { pending: 'sending…', delivered: '✓ delivered', stored: 'stored for later (recipient offline)', failed: '✗' } as const;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function peerButton(peer: string, label: string, unread = 0, dot = false): HTMLLIElement {
  const li = el('li');
  const b = el('button');
  b.type = 'button';
  b.dataset.peer = peer;
  b.setAttribute('aria-current', String(conversations.open === peer));
  if (dot) b.append(el('span', 'dot'));
  b.append(el('span', 'name', label));
  if (unread > 0) b.append(el('span', 'badge', String(unread)));
  b.addEventListener('click', () => conversations.select(peer));
  li.append(b);
  return li;
}

function messageItem(m: ChatMessage): HTMLLIElement {
  const li = el('li', `msg ${m.direction}`);
  li.dataset.fp = m.fp;
  li.append(el('span', 'text', m.text));
  const time = new Date(m.at).toLocaleTimeString();
  const meta = el('span', 'meta', m.whileAway ? `${time} · sent while you were away` : time);
  if (m.state) {
    li.dataset.state = m.state;
    const state = el('span', 'state', ` · ${m.state === 'failed' ? `${STATE_TEXT.failed} ${m.reason ?? 'failed'}` : STATE_TEXT[m.state]}`);
    state.dataset.state = m.state;
    meta.append(state);
  }
  li.append(meta);
  return li;
}

function render(): void {
  const me = session?.userId;
  ui.online.replaceChildren(...onlineUsers.map((u) => peerButton(u, u === me ? `${u} (you)` : u, 0, true)));
  ui.conversations.replaceChildren(...conversations.list().map((c) => peerButton(c.peer, c.peer, c.unread)));
  const open = conversations.open;
  ui.title.textContent = open === null ? 'Pick someone to talk to' : open;
  const messages = open === null ? [] : conversations.with(open).messages;
  ui.messages.replaceChildren(...(messages.length ? messages.map(messageItem) : [el('li', 'empty', open ? 'No messages yet.' : '')]));
  ui.messages.scrollTop = ui.messages.scrollHeight;
  updateComposer();
}

// ------------------------------------------------------------------ forms

ui.loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void logIn(ui.userId.value.trim(), ui.token.value);
});

ui.logout.addEventListener('click', () => {
  if (!session) return;
  const { client } = session;
  session.reconnect.stop();
  void client.logout();
  end('');
});

ui.newPeer.addEventListener('submit', (e) => {
  e.preventDefault();
  const peer = ui.peer.value.trim();
  if (!peer) return;
  ui.peer.value = '';
  conversations.select(peer);
});

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.text.value;
  if (!text || conversations.open === null) return;
  ui.text.value = '';
  void send(conversations.open, text);
});
