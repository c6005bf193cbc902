/**
 * IMClient's SDK rules for packets the library's server never sends (so the
 * real-server tests in test/e2e/client-im-client.e2e-spec.ts cannot reach
 * them), driven through an in-memory link: no sockets, no server logic.
 */
import { IMClient, IMLink, LinkCloseInfo, Packet, ServerErrorInfo } from '../../lib/client';
import { decodePacket, encodePacket } from '../../lib/protocol/packet-codec';
import { serverPacket } from '../../lib/protocol/packet';
import { errorResponse, loginResponse } from '../../lib/protocol/payloads';

/** A link whose far end is the test: `sent` holds what the client wrote, `deliver` plays a server packet. */
class MemoryLink implements IMLink {
  readonly kind = 'tcp' as const;
  readonly sent: Packet[] = [];
  onPacket?: (text: string) => void;
  onClose?: (info: LinkCloseInfo) => void;
  private open_ = false;

  get isOpen(): boolean {
    return this.open_;
  }
  async open(): Promise<void> {
    this.open_ = true;
  }
  send(body: string): void {
    if (!this.open_) throw new Error('MemoryLink is not open');
    const r = decodePacket(body);
    if (!r.ok) throw new Error(`client sent an invalid packet: ${body}`);
    this.sent.push(r.packet);
  }
  close(): void {
    if (!this.open_) return;
    this.open_ = false;
    queueMicrotask(() => this.onClose?.({ local: true }));
  }
  deliver(p: Packet): void {
    this.onPacket?.(encodePacket(p));
  }
}

async function connected(): Promise<{ client: IMClient; link: MemoryLink }> {
  const link = new MemoryLink();
  const client = new IMClient(link, { keepalive: false, requestTimeoutMs: 1000 });
  await client.connect();
  return { client, link };
}

describe('IMClient receive rules (SDK parity)', () => {
  it('does not ACK a failed login response, even one marked QoS, and closes', async () => {
    const { client, link } = await connected();
    const result = client.login({ userId: 'u', token: 'bad' });
    link.deliver({ ...loginResponse(1025, 'u', -1), QoS: true, fp: 'fp-failed-login' });
    await expect(result).resolves.toEqual({ code: 1025, firstLoginTime: -1 });
    expect(link.sent.map((p) => p.type)).toEqual([0]);
    expect(client.isConnected).toBe(false);
  });

  it('ACKs a successful login response marked QoS, as the SDKs ACK every QoS packet', async () => {
    const { client, link } = await connected();
    const result = client.login({ userId: 'u', token: 't' });
    link.deliver({ ...loginResponse(0, 'u', 5), QoS: true, fp: 'fp-login' });
    await expect(result).resolves.toEqual({ code: 0, firstLoginTime: 5 });
    expect(link.sent.map((p) => [p.type, p.dataContent])).toEqual([[0, expect.any(String)], [4, 'fp-login']]);
    await client.close();
  });

  it('on 301 while logged in stops being logged in, and the error event carries it', async () => {
    const { client, link } = await connected();
    const login = client.login({ userId: 'u', token: 't' });
    link.deliver(loginResponse(0, 'u', 5));
    await login;
    const errors: ServerErrorInfo[] = [];
    client.on('error', (e) => errors.push(e));
    link.deliver(errorResponse(301, 'not logged in', 'u'));
    expect(errors.map((e) => e.errorCode)).toEqual([301]);
    expect(client.isLoggedIn).toBe(false);
    await expect(client.sendC2S('x')).rejects.toThrow('not logged in');
    await client.close();
  });

  it('with autoAck: false leaves every ACK to the application', async () => {
    const link = new MemoryLink();
    const client = new IMClient(link, { keepalive: false, autoAck: false });
    await client.connect();
    link.deliver(serverPacket(2, 'u', 'pushed', { QoS: true, fp: 'fp-1' }));
    expect((await client.nextPacket((p) => p.type === 2, 1000)).fp).toBe('fp-1');
    expect(link.sent).toEqual([]);
    await client.close();
  });
});
