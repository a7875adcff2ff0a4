// The frame parser accepts any chunking of the byte stream and rejects bad frame-ends and sizes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec.js';
import {
  FrameError,
  FrameParser,
  CONTENT_HEADER_PREFIX_SIZE,
  contentBodySize,
  decodeContentHeader,
  encodeMethodFrame,
  layouts,
  writeBody,
  writeContentHeader,
  writeMethod,
} from '../../src/protocol/frames.js';
import { BASIC_PUBLISH, BASIC_QOS } from '../../src/protocol/generated/spec.js';

interface Seen {
  type: number;
  channel: number;
  payload: Buffer;
}

function parse(chunks: Buffer[], frameMax = 131072): Seen[] {
  const seen: Seen[] = [];
  const parser = new FrameParser({ onFrame: (type, channel, payload) => seen.push({ type, channel, payload: Buffer.from(payload) }) }, frameMax);
  for (const c of chunks) parser.push(c);
  return seen;
}

/** A realistic stream: publishes with headers and bodies split at frame_max, and qos methods. */
function stream(bodies: Buffer[], frameMax: number): { bytes: Buffer; frames: number } {
  const w = new Writer();
  let frames = 0;
  bodies.forEach((body, i) => {
    const publish = encodeMethodFrame(i + 1, BASIC_PUBLISH, { exchange: 'amq.direct', routingKey: `k${i}` });
    w.bytes(publish);
    writeContentHeader(w, i + 1, body.length, { contentType: 'text/plain', headers: {} });
    writeBody(w, i + 1, body, frameMax);
    w.bytes(encodeMethodFrame(i + 1, BASIC_QOS, { prefetchCount: i }));
    frames += 3 + Math.ceil(body.length / (frameMax - 8));
  });
  return { bytes: Buffer.concat(w.drain()), frames };
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('FrameParser', () => {
  const bodies = [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(10000, 7), Buffer.alloc(5000, 9)];
  const { bytes, frames } = stream(bodies, 4096);
  const whole = parse([bytes]);

  it('parses a stream of many frames in one chunk', () => {
    expect(whole).toHaveLength(frames);
    expect(Buffer.concat(whole.filter((f) => f.type === 3 && f.channel === 3).map((f) => f.payload))).toEqual(bodies[2]);
  });

  it('parses the same stream delivered byte by byte', () => {
    expect(parse([...bytes].map((b) => Buffer.from([b])))).toEqual(whole);
  });

  it('parses the same stream split anywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
        expect(parse(splitAt(bytes, cuts))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('hands over frames inside a chunk as slices, not copies', () => {
    const frame = encodeMethodFrame(1, BASIC_QOS, { prefetchCount: 1 });
    let payload: Buffer | undefined;
    new FrameParser({ onFrame: (_t, _c, p) => (payload = p) }, 4096).push(frame);
    expect(payload!.buffer).toBe(frame.buffer);
  });

  it('rejects a wrong frame-end octet after delivering the frames before it', () => {
    const good = encodeMethodFrame(1, BASIC_QOS, {});
    const bad = Buffer.from(good);
    bad[bad.length - 1] = 0;
    const seen: number[] = [];
    const parser = new FrameParser({ onFrame: (t) => seen.push(t) }, 4096);
    let err: unknown;
    try {
      parser.push(Buffer.concat([good, bad]));
    } catch (e) {
      err = e;
    }
    expect(seen).toEqual([1]);
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).kind).toBe('frame-end');
    expect((err as FrameError).frameEnd).toBe(0);
  });

  it('rejects a payload larger than frame_max as soon as the frame header arrives', () => {
    const parser = new FrameParser({ onFrame: () => {} }, 4096);
    expect(() => parser.push(Buffer.from([3, 0, 1, 0, 0, 0x10, 0x01]))).toThrow(FrameError);
    const atLimit = new FrameParser({ onFrame: () => {} }, 4096);
    expect(() => atLimit.push(Buffer.from([3, 0, 1, 0, 0, 0x10, 0x00]))).not.toThrow();
  });

  it('reads frame headers the same way by hand and through buffer-layout', () => {
    fc.assert(
      fc.property(fc.nat(255), fc.nat(65535), fc.nat(0xffffffff), (type, channel, size) => {
        const b = Buffer.alloc(7);
        layouts().frameHeader.encode({ type, channel, size }, b);
        expect([b[0], b.readUInt16BE(1), b.readUInt32BE(3)]).toEqual([type, channel, size]);
      }),
    );
  });
});

describe('content header fast path', () => {
  it('has the prefix size of its layout', () => {
    expect(CONTENT_HEADER_PREFIX_SIZE).toBe(layouts().contentHeader.span);
  });

  it('reads the body size as the generic decoder does', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger().map(Math.abs), fc.boolean(), (size, withProps) => {
        const w = new Writer();
        writeContentHeader(w, 1, size, withProps ? { priority: 3, headers: {} } : {});
        const payload = Buffer.concat(w.drain()).subarray(7, -1);
        expect(contentBodySize(payload)).toBe(decodeContentHeader(payload).bodySize);
        expect(layouts().contentHeader.decode(payload).bodySize).toBe(size);
      }),
    );
  });
});

describe('writing frames', () => {
  it('leaves nothing behind when a method cannot be encoded, so no half frame is sent', () => {
    const w = new Writer();
    writeMethod(w, 1, BASIC_QOS, { prefetchSize: 0, prefetchCount: 1, global: false });
    const before = w.pendingBytes;
    expect(() => writeMethod(w, 1, BASIC_PUBLISH, { exchange: 'x'.repeat(300), routingKey: 'k' })).toThrow(/shortstr too long/);
    expect(w.pendingBytes).toBe(before);
    writeMethod(w, 1, BASIC_QOS, { prefetchSize: 0, prefetchCount: 2, global: false });
    const frames: number[] = [];
    const parser = new FrameParser({ onFrame: (type) => frames.push(type) }, 131072);
    for (const b of w.drain()) parser.push(b);
    expect(frames).toEqual([1, 1]);
  });
});
