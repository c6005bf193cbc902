/**
 * The chat page's state, without the DOM: one conversation per peer and the
 * state of every message sent. Kept apart from the page so the rules of the
 * states are unit-tested.
 */

/**
 * `pending`: sent, no answer yet; `delivered`: written to the recipient's
 * device; `stored`: kept by the server for a recipient who is offline;
 * `failed`: refused or never confirmed (`reason` says which).
 */
export type MessageState = 'pending' | 'delivered' | 'stored' | 'failed';

/** One line of a conversation. */
export interface ChatMessage {
  /** Fingerprint (ours for sent messages, the sender's for received ones). */
  fp: string;
  direction: 'in' | 'out';
  text: string;
  /** Epoch ms: sent, received, or stored by the server for us. */
  at: number;
  /** Sent messages only. */
  state?: MessageState;
  /** Why it failed, in words. */
  reason?: string;
  /** Received from the offline store (sent while we were away). */
  whileAway?: boolean;
}

/** The messages exchanged with one peer. */
export interface Conversation {
  peer: string;
  messages: ChatMessage[];
  /** Received messages not yet seen (the conversation was not open). */
  unread: number;
}

/** Conversations and message states; `onChange` is called with the peer whose conversation changed. */
export class Conversations {
  private readonly byPeer = new Map<string, Conversation>();
  private readonly sent = new Map<string, { message: ChatMessage; peer: string }>();
  /** The open conversation. */
  open: string | null = null;

  constructor(private readonly onChange: (peer: string) => void = () => undefined) {}

  /** Every conversation, most recently active first. */
  list(): Conversation[] {
    const last = (c: Conversation) => c.messages[c.messages.length - 1]?.at ?? 0;
    return [...this.byPeer.values()].sort((a, b) => last(b) - last(a));
  }

  /** The conversation with `peer`, created empty if needed. */
  with(peer: string): Conversation {
    let c = this.byPeer.get(peer);
    if (!c) this.byPeer.set(peer, (c = { peer, messages: [], unread: 0 }));
    return c;
  }

  /** Opens `peer`'s conversation and marks it read. */
  select(peer: string): void {
    this.open = peer;
    this.with(peer).unread = 0;
    this.onChange(peer);
  }

  /** A message we just sent. */
  sending(peer: string, fp: string, text: string, at: number): ChatMessage {
    const m: ChatMessage = { fp, direction: 'out', text, at, state: 'pending' };
    this.with(peer).messages.push(m);
    this.sent.set(fp, { message: m, peer });
    this.onChange(peer);
    return m;
  }

  /** The server's ACK: delivered, unless the server said it stored the message (or it failed). */
  acknowledged(fp: string): void {
    this.update(fp, (m) => m.state === 'pending' && (m.state = 'delivered'));
  }

  /** The server stored the message for an offline recipient; beats an ACK in either order. */
  stored(fp: string): void {
    this.update(fp, (m) => (m.state === 'pending' || m.state === 'delivered') && (m.state = 'stored'));
  }

  /** Refused or never confirmed; the first reason given stays. */
  failed(fp: string, reason: string): void {
    this.update(fp, (m) => {
      if (m.state !== 'pending') return false;
      m.state = 'failed';
      m.reason = reason;
      return true;
    });
  }

  /** True when `fp` is one of our messages still awaiting an answer. */
  isPending(fp: string): boolean {
    return this.sent.get(fp)?.message.state === 'pending';
  }

  /** A message from `peer`; false when `fp` was already shown (a copy from the offline store after a live one). */
  received(peer: string, fp: string, text: string, at: number, whileAway = false): boolean {
    const c = this.with(peer);
    if (c.messages.some((m) => m.direction === 'in' && m.fp === fp)) return false;
    c.messages.push({ fp, direction: 'in', text, at, whileAway });
    if (this.open !== peer) c.unread++;
    this.onChange(peer);
    return true;
  }

  /** The server says the message `fp` from `peer` had waited in its store since `storedAt`. */
  sentWhileAway(peer: string, fp: string, storedAt: number): void {
    const m = this.byPeer.get(peer)?.messages.find((x) => x.direction === 'in' && x.fp === fp);
    if (!m || m.whileAway) return;
    m.whileAway = true;
    m.at = storedAt;
    this.onChange(peer);
  }

  private update(fp: string, change: (m: ChatMessage) => boolean | string): void {
    const entry = this.sent.get(fp);
    if (entry && change(entry.message)) this.onChange(entry.peer);
  }
}
