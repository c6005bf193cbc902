/** Length of the TCP frame header: a 4-byte unsigned big-endian body length. */
export const TCP_HEADER_BYTES = 4;

/** Why the byte stream cannot continue. */
export type FrameError = 'too-large' | 'empty';

/**
 * Splits a TCP byte stream into frame bodies (PROTOCOL.md §1.1). Handles frames
 * split across chunks and many frames per chunk, copying only when a frame
 * straddles chunks. An oversized header is reported as soon as it is read,
 * without waiting for the body.
 */
export class TcpFrameDecoder {
  private pending: Buffer | null = null;

  constructor(private readonly maxBodyBytes: number) {}

  /**
   * Feeds one chunk; calls `onFrame` for each complete body.
   * Returns an error when the stream must be closed, after which the decoder is unusable.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): FrameError | undefined {
    return this.pushRanges(chunk, (buf, start, end) => onFrame(buf.subarray(start, end)));
  }

  /** Like {@link push}, but hands each body over as UTF-8 text without an intermediate Buffer. */
  pushText(chunk: Buffer, onText: (text: string) => void): FrameError | undefined {
    return this.pushRanges(chunk, (buf, start, end) => onText(buf.toString('utf8', start, end)));
  }

  /** Like {@link push}, but reports each body as a range of a buffer, without copying or decoding it. */
  pushRanges(chunk: Buffer, emit: (buf: Buffer, start: number, end: number) => void): FrameError | undefined {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let offset = 0;
    while (buf.length - offset >= TCP_HEADER_BYTES) {
      const len = buf.readUInt32BE(offset);
      if (len > this.maxBodyBytes) return 'too-large';
      if (len === 0) return 'empty';
      const end = offset + TCP_HEADER_BYTES + len;
      if (end > buf.length) break;
      emit(buf, offset + TCP_HEADER_BYTES, end);
      offset = end;
    }
    if (offset < buf.length) this.pending = Buffer.from(buf.subarray(offset));
    return undefined;
  }

  /** Bytes of an incomplete frame held back. */
  get bufferedBytes(): number {
    return this.pending ? this.pending.length : 0;
  }
}

/** Encodes one body as a TCP frame (header + UTF-8 body). */
export function encodeTcpFrame(body: string): Buffer {
  const len = Buffer.byteLength(body);
  const frame = Buffer.allocUnsafe(TCP_HEADER_BYTES + len);
  frame.writeUInt32BE(len, 0);
  frame.write(body, TCP_HEADER_BYTES);
  return frame;
}
