import { TcpFrameDecoder, encodeTcpFrame, TCP_HEADER_BYTES, FrameError } from '../../lib/protocol/tcp-frame-decoder';

const MAX = 6144;

function header(len: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(len, 0);
  return h;
}

/** Feeds chunks; collects decoded bodies (copied, as text) and the first error. */
function feed(decoder: TcpFrameDecoder, chunks: Buffer[]): { bodies: string[]; error?: FrameError; errorAt?: number } {
  const bodies: string[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const error = decoder.push(chunks[i], (b) => bodies.push(b.toString('utf8')));
    if (error) return { bodies, error, errorAt: i };
  }
  return { bodies };
}

describe('encodeTcpFrame', () => {
  it('writes a 4-byte big-endian length and the UTF-8 body', () => {
    const f = encodeTcpFrame('{"type":1}');
    expect(TCP_HEADER_BYTES).toBe(4);
    expect(f.length).toBe(4 + 10);
    expect(f.readUInt32BE(0)).toBe(10);
    expect(f.subarray(4).toString('utf8')).toBe('{"type":1}');
    expect([...f.subarray(0, 4)]).toEqual([0, 0, 0, 10]);
  });

  it('counts bytes, not UTF-16 code units, for multi-byte text', () => {
    const body = 'é你😀'; // 2 + 3 + 4 bytes, 4 UTF-16 units
    const f = encodeTcpFrame(body);
    expect(body.length).toBe(4);
    expect(f.readUInt32BE(0)).toBe(9);
    expect(f.length).toBe(13);
    expect(f.subarray(4).toString('utf8')).toBe(body);
  });

  it('encodes an empty body as a zero length header only', () => {
    expect([...encodeTcpFrame('')]).toEqual([0, 0, 0, 0]);
  });

  it('uses big-endian order for lengths over 255', () => {
    const f = encodeTcpFrame('x'.repeat(0x0102));
    expect([...f.subarray(0, 4)]).toEqual([0, 0, 1, 2]);
  });
});

describe('TcpFrameDecoder', () => {
  it('decodes one whole frame in one chunk', () => {
    const d = new TcpFrameDecoder(MAX);
    expect(feed(d, [encodeTcpFrame('{"type":1}')])).toEqual({ bodies: ['{"type":1}'] });
    expect(d.bufferedBytes).toBe(0);
  });

  it('decodes frames delivered one byte at a time', () => {
    const d = new TcpFrameDecoder(MAX);
    const stream = Buffer.concat([encodeTcpFrame('{"a":1}'), encodeTcpFrame('héllo 😀'), encodeTcpFrame('x')]);
    const bodies: string[] = [];
    for (let i = 0; i < stream.length; i++) {
      expect(d.push(stream.subarray(i, i + 1), (b) => bodies.push(b.toString('utf8')))).toBeUndefined();
    }
    expect(bodies).toEqual(['{"a":1}', 'héllo 😀', 'x']);
    expect(d.bufferedBytes).toBe(0);
  });

  it('emits nothing until the last byte of a frame arrives', () => {
    const d = new TcpFrameDecoder(MAX);
    const frame = encodeTcpFrame('abcdef');
    const bodies: string[] = [];
    d.push(frame.subarray(0, frame.length - 1), (b) => bodies.push(b.toString()));
    expect(bodies).toEqual([]);
    expect(d.bufferedBytes).toBe(frame.length - 1);
    d.push(frame.subarray(frame.length - 1), (b) => bodies.push(b.toString()));
    expect(bodies).toEqual(['abcdef']);
    expect(d.bufferedBytes).toBe(0);
  });

  it('decodes many frames in one chunk, in order', () => {
    const d = new TcpFrameDecoder(MAX);
    const texts = Array.from({ length: 100 }, (_, i) => `{"type":2,"dataContent":"m${i}"}`);
    const { bodies, error } = feed(d, [Buffer.concat(texts.map(encodeTcpFrame))]);
    expect(error).toBeUndefined();
    expect(bodies).toEqual(texts);
    expect(d.bufferedBytes).toBe(0);
  });

  it('decodes complete frames and keeps the partial tail of a chunk', () => {
    const d = new TcpFrameDecoder(MAX);
    const a = encodeTcpFrame('first');
    const b = encodeTcpFrame('second');
    const chunk1 = Buffer.concat([a, b.subarray(0, 6)]);
    const r1 = feed(d, [chunk1]);
    expect(r1.bodies).toEqual(['first']);
    expect(d.bufferedBytes).toBe(6);
    const r2 = feed(d, [b.subarray(6)]);
    expect(r2.bodies).toEqual(['second']);
    expect(d.bufferedBytes).toBe(0);
  });

  it.each([1, 2, 3])('handles a header split after %i byte(s)', (split) => {
    const d = new TcpFrameDecoder(MAX);
    const f = encodeTcpFrame('hello');
    const r = feed(d, [f.subarray(0, split), f.subarray(split, 4), f.subarray(4)]);
    expect(r).toEqual({ bodies: ['hello'] });
  });

  it('handles a header split across chunks that also carry other frames', () => {
    const d = new TcpFrameDecoder(MAX);
    const a = encodeTcpFrame('A');
    const b = encodeTcpFrame('BB');
    const c = encodeTcpFrame('CCC');
    const stream = Buffer.concat([a, b, c]);
    // Split inside b's header (a is 5 bytes, b's header starts at 5).
    const r = feed(d, [stream.subarray(0, 7), stream.subarray(7, 12), stream.subarray(12)]);
    expect(r).toEqual({ bodies: ['A', 'BB', 'CCC'] });
  });

  it('gives the same frames for every way of splitting a stream in two', () => {
    const texts = ['{"t":1}', 'é', '😀😀', 'x'.repeat(300)];
    const stream = Buffer.concat(texts.map(encodeTcpFrame));
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new TcpFrameDecoder(MAX);
      const r = feed(d, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(r.error).toBeUndefined();
      expect(r.bodies).toEqual(texts);
    }
  });

  it('does not corrupt a held-back body when the caller reuses its chunk buffer', () => {
    const d = new TcpFrameDecoder(MAX);
    const f = encodeTcpFrame('abcdef');
    const chunk = Buffer.from(f.subarray(0, 7));
    const bodies: string[] = [];
    d.push(chunk, (b) => bodies.push(b.toString()));
    chunk.fill(0x7a); // the socket layer may reuse memory
    d.push(f.subarray(7), (b) => bodies.push(b.toString()));
    expect(bodies).toEqual(['abcdef']);
  });

  it('accepts an empty chunk', () => {
    const d = new TcpFrameDecoder(MAX);
    expect(feed(d, [Buffer.alloc(0)])).toEqual({ bodies: [] });
    expect(d.bufferedBytes).toBe(0);
  });

  describe('size limit (PROTOCOL §1.1)', () => {
    it('accepts a body of exactly the maximum size', () => {
      const d = new TcpFrameDecoder(MAX);
      const body = 'x'.repeat(MAX);
      const r = feed(d, [encodeTcpFrame(body)]);
      expect(r.error).toBeUndefined();
      expect(r.bodies).toEqual([body]);
    });

    it('accepts a maximum-size body that arrives in pieces', () => {
      const d = new TcpFrameDecoder(MAX);
      const f = encodeTcpFrame('y'.repeat(MAX));
      const r = feed(d, [f.subarray(0, 1000), f.subarray(1000, 5000), f.subarray(5000)]);
      expect(r.error).toBeUndefined();
      expect(r.bodies).toEqual(['y'.repeat(MAX)]);
    });

    it('rejects max+1 as soon as the header is read, without the body', () => {
      const d = new TcpFrameDecoder(MAX);
      const onFrame = jest.fn();
      expect(d.push(header(MAX + 1), onFrame)).toBe('too-large');
      expect(onFrame).not.toHaveBeenCalled();
    });

    it('rejects max+1 when the header itself arrives in pieces', () => {
      const d = new TcpFrameDecoder(MAX);
      const h = header(MAX + 1);
      const r = feed(d, [h.subarray(0, 2), h.subarray(2, 3), h.subarray(3)]);
      expect(r).toEqual({ bodies: [], error: 'too-large', errorAt: 2 });
    });

    it('rejects 0xFFFFFFFF', () => {
      const d = new TcpFrameDecoder(MAX);
      const onFrame = jest.fn();
      expect(d.push(Buffer.from([0xff, 0xff, 0xff, 0xff]), onFrame)).toBe('too-large');
      expect(onFrame).not.toHaveBeenCalled();
    });

    it('delivers the frames before an oversized header, then reports it', () => {
      const d = new TcpFrameDecoder(MAX);
      const r = feed(d, [Buffer.concat([encodeTcpFrame('ok1'), encodeTcpFrame('ok2'), header(MAX + 1), Buffer.from('zz')])]);
      expect(r.bodies).toEqual(['ok1', 'ok2']);
      expect(r.error).toBe('too-large');
    });

    it('measures the limit in bytes: a multi-byte body of exactly max bytes passes, one more byte fails', () => {
      const limit = 12;
      const over = '😀😀é€'; // 4 + 4 + 2 + 3 = 13 bytes
      expect(Buffer.byteLength(over)).toBe(limit + 1);
      const fits = '😀😀€x'; // 4 + 4 + 3 + 1 = 12
      expect(Buffer.byteLength(fits)).toBe(limit);
      expect(fits.length).toBeLessThan(limit);

      const d1 = new TcpFrameDecoder(limit);
      expect(feed(d1, [encodeTcpFrame(fits)])).toEqual({ bodies: [fits] });

      const d2 = new TcpFrameDecoder(limit);
      expect(feed(d2, [encodeTcpFrame(over)]).error).toBe('too-large');
    });

    it('honours a custom limit', () => {
      const d = new TcpFrameDecoder(3);
      expect(feed(d, [encodeTcpFrame('abc')])).toEqual({ bodies: ['abc'] });
      expect(feed(d, [encodeTcpFrame('abcd')]).error).toBe('too-large');
    });
  });

  describe('zero-length body', () => {
    it("reports 'empty' for a zero length header", () => {
      const d = new TcpFrameDecoder(MAX);
      const onFrame = jest.fn();
      expect(d.push(header(0), onFrame)).toBe('empty');
      expect(onFrame).not.toHaveBeenCalled();
    });

    it("delivers preceding frames, then reports 'empty'", () => {
      const d = new TcpFrameDecoder(MAX);
      const r = feed(d, [Buffer.concat([encodeTcpFrame('a'), encodeTcpFrame(''), encodeTcpFrame('b')])]);
      expect(r.bodies).toEqual(['a']);
      expect(r.error).toBe('empty');
    });

    it("reports 'empty' once a split zero header is complete", () => {
      const d = new TcpFrameDecoder(MAX);
      const r = feed(d, [Buffer.from([0, 0]), Buffer.from([0]), Buffer.from([0])]);
      expect(r).toEqual({ bodies: [], error: 'empty', errorAt: 2 });
    });
  });

  describe('multi-byte UTF-8', () => {
    it('decodes bodies whose byte length differs from their string length', () => {
      const texts = ['{"dataContent":"你好"}', '{"dataContent":"😀👍🏽"}', 'ü'.repeat(1000)];
      const d = new TcpFrameDecoder(MAX);
      expect(feed(d, [Buffer.concat(texts.map(encodeTcpFrame))])).toEqual({ bodies: texts });
    });

    it('reassembles a body split in the middle of a multi-byte character', () => {
      const body = '😀';
      const f = encodeTcpFrame(body);
      const d = new TcpFrameDecoder(MAX);
      const r = feed(d, [f.subarray(0, 6), f.subarray(6)]); // header + 2 of 4 emoji bytes
      expect(r).toEqual({ bodies: [body] });
    });

    it('delivers raw bytes; decoding invalid UTF-8 is the caller’s business', () => {
      const d = new TcpFrameDecoder(MAX);
      const raw = Buffer.concat([header(2), Buffer.from([0xc3, 0x28])]);
      const got: Buffer[] = [];
      expect(d.push(raw, (b) => got.push(Buffer.from(b)))).toBeUndefined();
      expect(got).toEqual([Buffer.from([0xc3, 0x28])]);
    });
  });
});
