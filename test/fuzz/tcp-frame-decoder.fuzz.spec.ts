import * as fc from 'fast-check';
import { encodeTcpFrame, FrameError, TCP_HEADER_BYTES, TcpFrameDecoder } from '../../lib/protocol/tcp-frame-decoder';
import { fuzzParams } from './fuzz-params';

/** A small limit, so that oversize headers and frames at the limit come up often. */
const MAX = 64;

interface Decoded {
  frames: string[];
  error?: FrameError;
}

/** Feeds `chunks` in turn until the decoder reports an error; checks the held-back bytes stay bounded. */
function decode(chunks: Buffer[]): Decoded {
  const decoder = new TcpFrameDecoder(MAX);
  const frames: string[] = [];
  for (const chunk of chunks) {
    const error = decoder.push(chunk, (body) => frames.push(body.toString('hex')));
    if (error) return { frames, error };
    // An incomplete frame is at most a header and a body under the limit: memory cannot grow with the input.
    expect(decoder.bufferedBytes).toBeLessThan(TCP_HEADER_BYTES + MAX);
  }
  return { frames };
}

/** Splits `stream` at the given cut points (any order, duplicates allowed: empty chunks). */
function chunk(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [0, ...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length];
  return at.slice(1).map((end, i) => stream.subarray(at[i], end));
}

const header = (len: number) => {
  const h = Buffer.alloc(TCP_HEADER_BYTES);
  h.writeUInt32BE(len, 0);
  return h;
};

const bodyBytes = fc.uint8Array({ minLength: 1, maxLength: MAX }).map((a) => Buffer.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 20 });

describe('fuzz: TCP frame decoder', () => {
  it('any chunking of valid frames yields the frames, in order, with no error', () => {
    fc.assert(
      fc.property(fc.array(bodyBytes, { maxLength: 12 }), cuts, (bodies, cutPoints) => {
        const stream = Buffer.concat(bodies.map((b) => Buffer.concat([header(b.length), b])));
        expect(decode(chunk(stream, cutPoints))).toEqual({ frames: bodies.map((b) => b.toString('hex')) });
      }),
      fuzzParams(1000),
    );
  });

  it('any chunking of arbitrary bytes decodes exactly as one chunk does, and never throws', () => {
    // Headers are biased toward small lengths so that the arbitrary streams hold real frames too.
    const piece = fc.oneof(fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)), fc.integer({ min: 0, max: MAX + 2 }).map(header), fc.nat().map(header));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), cuts, (pieces, cutPoints) => {
        const stream = Buffer.concat(pieces);
        expect(decode(chunk(stream, cutPoints))).toEqual(decode([stream]));
      }),
      fuzzParams(1000),
    );
  });

  it('an oversize header is reported as soon as it is read, after the frames before it, whatever follows', () => {
    fc.assert(
      fc.property(
        fc.array(bodyBytes, { maxLength: 6 }),
        fc.integer({ min: MAX + 1, max: 2 ** 32 - 1 }),
        fc.uint8Array({ maxLength: 16 }),
        cuts,
        (bodies, len, trailing, cutPoints) => {
          const good = bodies.map((b) => Buffer.concat([header(b.length), b]));
          const stream = Buffer.concat([...good, header(len), Buffer.from(trailing)]);
          expect(decode(chunk(stream, cutPoints))).toEqual({ frames: bodies.map((b) => b.toString('hex')), error: 'too-large' });
        },
      ),
      fuzzParams(1000),
    );
  });

  it('pushText hands over the same bodies as push, decoded as UTF-8', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }), { maxLength: 8 }), cuts, (texts, cutPoints) => {
        const stream = Buffer.concat(texts.map(encodeTcpFrame));
        const decoder = new TcpFrameDecoder(MAX);
        const out: string[] = [];
        for (const c of chunk(stream, cutPoints)) expect(decoder.pushText(c, (t) => out.push(t))).toBeUndefined();
        expect(out).toEqual(texts);
      }),
      fuzzParams(500),
    );
  });
});
