import { randomUUID } from 'crypto';
import { clientPacket } from '../../lib/protocol/packet';
import { encodePacket } from '../../lib/protocol/packet-codec';
import { ackPacket, keepalivePacket, loginPacket } from '../../lib/protocol/payloads';
import { encodeTcpFrame, TCP_HEADER_BYTES as HEADER_BYTES } from '../../lib/protocol/tcp-frame-decoder';

/**
 * The load generator's view of the MobileIMSDK wire format (PROTOCOL.md §1-3).
 * Packets are built by `lib/protocol` (the same builders and codec as the
 * server and `nestjs-im/client`), once: the hot path copies a pre-encoded
 * template and patches the fingerprint's digits in place, and reads fields
 * straight from the received bytes without JSON.parse. That is why the bench
 * does not send through `IMClient`: per-message objects, JSON and promises
 * would make the generator, not the server, the bottleneck being measured.
 */

/** Encodes one packet body, with the TCP header when `framed`. */
export function encode(body: string, framed: boolean): Buffer {
  return framed ? encodeTcpFrame(body) : Buffer.from(body);
}

const q = JSON.stringify;

/** A placeholder fingerprint: plain ASCII (JSON leaves it as is); dataContent, where it goes, is the first string of an ACK. */
const FP_MARK = '<fp-placeholder>';

/** Type 0 login, as the Java SDK writes it. */
export function loginBody(userId: string, token: string): string {
  return encodePacket(loginPacket({ loginUserId: userId, loginToken: token, firstLoginTime: 0 }));
}

/** Type 1 keepalive. */
export function keepaliveBody(userId: string): string {
  return encodePacket(keepalivePacket(userId));
}

/** Length of our fingerprints: a UUID-like 24-char prefix + a 12-digit sequence number. */
export const FP_BYTES = 36;
const SEQ_DIGITS = 12;
const SEQ_OFFSET = FP_BYTES - SEQ_DIGITS;

/** A UUID-looking 24-character fingerprint prefix, unique per sender. */
export function fpPrefix(): string {
  return randomUUID().slice(0, SEQ_OFFSET);
}

function writeDigits(b: Buffer, at: number, width: number, n: number): void {
  for (let i = at + width - 1; i >= at; i--) {
    b[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/** Sequence number of one of our fingerprints whose first byte is at `at`. */
export function fpSeq(b: Buffer, at: number): number {
  let n = 0;
  for (let i = at + SEQ_OFFSET; i < at + FP_BYTES; i++) n = n * 10 + (b[i] - 48);
  return n;
}

/** True when the fingerprint at `at` starts with `prefix` (a sender's 24 bytes). */
export function fpHasPrefix(b: Buffer, at: number, prefix: Buffer): boolean {
  return at + FP_BYTES <= b.length && b.compare(prefix, 0, SEQ_OFFSET, at, at + SEQ_OFFSET) === 0;
}

/**
 * A packet pre-encoded once; `make(seq)` copies it and writes the sequence
 * number into the fingerprint's last 12 digits.
 */
export class SeqPacket {
  private readonly template: Buffer;
  private readonly seqAt: number;
  readonly prefix: Buffer;

  constructor(fields: { type: number; dataContent: string; from: string; to: string; qos: boolean }, framed: boolean) {
    const prefix = fpPrefix();
    this.prefix = Buffer.from(prefix);
    const fp = prefix + '0'.repeat(SEQ_DIGITS);
    const { type, dataContent, from, to, qos } = fields;
    const body = encodePacket(clientPacket({ type, dataContent, from, to, fp, QoS: qos }));
    this.template = encode(body, framed);
    // The fp is the last string of the encoding (PROTOCOL.md §2.2 key order), so its last occurrence is the field.
    const fpKey = `"fp":${q(fp)}`;
    this.seqAt = (framed ? HEADER_BYTES : 0) + Buffer.byteLength(body.slice(0, body.lastIndexOf(fpKey))) + fpKey.length - 1 - SEQ_DIGITS;
  }

  make(seq: number): Buffer {
    const b = Buffer.allocUnsafe(this.template.length);
    this.template.copy(b);
    writeDigits(b, this.seqAt, SEQ_DIGITS, seq);
    return b;
  }
}

/** The SDK's ACK (type 4, dataContent = fp, from = packet.to, to = packet.from), with a variable fp. */
export class AckPacket {
  private readonly head: Buffer;
  private readonly tail: Buffer;

  constructor(
    from: string,
    to: string,
    private readonly framed: boolean,
  ) {
    // The ACK of a marker fingerprint, cut around the marker: head + fp + tail is ackPacket(fp, from, to).
    const text = encodePacket(ackPacket(FP_MARK, from, to));
    const at = text.indexOf(FP_MARK);
    this.head = Buffer.from(text.slice(0, at));
    this.tail = Buffer.from(text.slice(at + FP_MARK.length));
  }

  /** ACK of the fingerprint held in `src[fpStart, fpEnd)`. */
  make(src: Buffer, fpStart: number, fpEnd: number): Buffer {
    const hdr = this.framed ? HEADER_BYTES : 0;
    const len = this.head.length + (fpEnd - fpStart) + this.tail.length;
    const b = Buffer.allocUnsafe(hdr + len);
    if (this.framed) b.writeUInt32BE(len, 0);
    let o = hdr + this.head.copy(b, hdr);
    o += src.copy(b, o, fpStart, fpEnd);
    this.tail.copy(b, o);
    return b;
  }
}

const TYPE_KEY = Buffer.from('"type":');
const FP_KEY = Buffer.from('"fp":"');
const DATA_KEY = Buffer.from('"dataContent":"');
const QUOTE = 0x22;

/** The `type` of the packet in `b[start, end)`, or -1. */
export function packetType(b: Buffer, start: number, end: number): number {
  let i = b.indexOf(TYPE_KEY, start);
  if (i < 0 || i >= end) return -1;
  i += TYPE_KEY.length;
  while (b[i] === 0x20) i++;
  let n = 0;
  let digits = 0;
  for (; i < end && b[i] >= 48 && b[i] <= 57; i++, digits++) n = n * 10 + (b[i] - 48);
  return digits ? n : -1;
}

/** Offset of the `fp` string value (searched from the end: it follows dataContent), or -1. */
export function fpValue(b: Buffer, start: number, end: number): number {
  const i = b.lastIndexOf(FP_KEY, end - FP_KEY.length);
  return i < start ? -1 : i + FP_KEY.length;
}

/** Offset of the `dataContent` string value, or -1. */
export function dataContentValue(b: Buffer, start: number, end: number): number {
  const i = b.indexOf(DATA_KEY, start);
  return i < 0 || i >= end ? -1 : i + DATA_KEY.length;
}

/** End of a string value without escapes (the closing quote), or -1. */
export function stringEnd(b: Buffer, at: number, end: number): number {
  const i = b.indexOf(QUOTE, at);
  return i < 0 || i >= end ? -1 : i;
}

/** True when the login response in `b[start, end)` carries code 0. */
export function loginAccepted(b: Buffer, start: number, end: number): boolean {
  const text = b.toString('utf8', start, end);
  try {
    const p = JSON.parse(text) as { dataContent?: string };
    return (JSON.parse(p.dataContent ?? '{}') as { code?: number }).code === 0;
  } catch {
    return false;
  }
}
