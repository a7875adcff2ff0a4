// Frames: the incremental parser, and encoders for method, content header, body and heartbeat frames.
import { createRequire } from 'node:module';
import type BufferLayoutModule from 'buffer-layout';
import { DecodeError, Reader, Writer } from './codec.js';
import {
  CONTENT_CLASS_ID,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  decodeArgs,
  decodeProperties,
  encodeArgs,
  encodeProperties,
  propertyFlags,
  type BasicProperties,
  type Method,
  type MethodArgs,
} from './generated/spec.js';

/** Bytes a frame adds around its payload: type, channel, size and the frame-end octet. */
export const FRAME_OVERHEAD = 8;
const HEADER_SIZE = 7;
const EMPTY = Buffer.alloc(0);

export interface FrameHeader {
  type: number;
  channel: number;
  size: number;
}
/** type octet, channel short, payload size long. */


export interface ContentHeaderPrefix {
  classId: number;
  weight: number;
  bodySize: number;
  flags: number;
}
/** The fixed start of a content header payload: class, weight, body size and the first flags word. */

/**
 * The fixed layouts, described with buffer-layout for the generic (cold) paths: errors and full header
 * decoding. Loaded on first use: the module costs ~10 ms of start-up and the hot path reads by hand.
 */
export const layouts = (() => {
  let built: { frameHeader: BufferLayoutModule.Layout<FrameHeader>; contentHeader: BufferLayoutModule.Layout<ContentHeaderPrefix> } | undefined;
  return () => {
    if (built) return built;
    const L = createRequire(import.meta.url)('buffer-layout') as typeof BufferLayoutModule;
    built = {
      frameHeader: L.struct<FrameHeader>([L.u8('type'), L.u16be('channel'), L.u32be('size')]),
      contentHeader: L.struct<ContentHeaderPrefix>([L.u16be('classId'), L.u16be('weight'), L.nu64be('bodySize'), L.u16be('flags')]),
    };
    return built;
  };
})();
/** Bytes before the property values: class, weight, body size, flags (the content header layout's span). */
export const CONTENT_HEADER_PREFIX_SIZE = 14;
/** Class, weight and body size: what RabbitMQ's reader needs to take a frame for a content header at all. */
export const CONTENT_HEADER_MIN_SIZE = 12;

export interface FrameSink {
  /** One complete frame; `payload` is a slice of the received bytes, valid until the handler returns unless kept. */
  onFrame(type: number, channel: number, payload: Buffer): void;
}

export type FrameErrorKind = 'frame-end' | 'too-large';

export class FrameError extends Error {
  constructor(
    readonly kind: FrameErrorKind,
    readonly header: FrameHeader,
    /** The payload (frame-end errors only). */
    readonly payload: Buffer,
    /** The octet found where the frame-end should be (frame-end errors only). */
    readonly frameEnd: number,
  ) {
    super(kind === 'too-large' ? 'frame too large' : 'bad frame end');
  }
}

/**
 * Splits a byte stream into frames, whatever the chunking. Frames that lie inside one chunk are handed
 * over as slices of it; a frame split across chunks is joined once, when its last byte arrives.
 */
export class FrameParser {
  /**
   * Largest payload accepted. RabbitMQ allows a payload of up to frame_max bytes (it adds a fudge of the
   * frame overhead), although frames it sends stay within frame_max.
   */
  frameMax: number;
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Bytes needed before parsing can continue. */
  private needed = HEADER_SIZE;
  private stopped = false;

  constructor(
    private readonly sink: FrameSink,
    frameMax: number,
  ) {
    this.frameMax = frameMax;
  }

  /** Parses no more: the rest of this chunk and later ones are dropped. */
  stop(): void {
    this.stopped = true;
    this.held = [];
    this.heldBytes = 0;
  }

  /** Throws FrameError on a bad frame-end or an oversized frame; frames before it have been delivered. */
  push(chunk: Buffer): void {
    if (this.stopped) return;
    let buf = chunk;
    if (this.heldBytes > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.heldBytes < this.needed) return;
      buf = Buffer.concat(this.held, this.heldBytes);
      this.held = [];
      this.heldBytes = 0;
    }
    let pos = 0;
    const len = buf.length;
    while (!this.stopped) {
      const avail = len - pos;
      if (avail < HEADER_SIZE) {
        this.needed = HEADER_SIZE;
        break;
      }
      const size = buf.readUInt32BE(pos + 3);
      if (size > this.frameMax) {
        throw new FrameError('too-large', layouts().frameHeader.decode(buf, pos), EMPTY, 0);
      }
      const total = size + FRAME_OVERHEAD;
      if (avail < total) {
        this.needed = total;
        break;
      }
      const end = buf[pos + HEADER_SIZE + size];
      if (end !== FRAME_END) {
        const payload = buf.subarray(pos + HEADER_SIZE, pos + HEADER_SIZE + size);
        throw new FrameError('frame-end', layouts().frameHeader.decode(buf, pos), payload, end);
      }
      this.sink.onFrame(buf[pos], buf.readUInt16BE(pos + 1), buf.subarray(pos + HEADER_SIZE, pos + HEADER_SIZE + size));
      pos += total;
    }
    if (pos < len && !this.stopped) {
      this.held.push(pos === 0 ? buf : buf.subarray(pos));
      this.heldBytes = len - pos;
    }
  }
}

/** The method key (class id << 16 | method id) of a method frame payload. */
export function methodKey(payload: Buffer): number {
  return payload.length < 4 ? -1 : payload.readUInt32BE(0);
}

/**
 * Decodes a method frame payload; undefined when the class or method is unknown. Throws DecodeError when
 * the arguments are short or followed by stray bytes (with `layoutOnly`, only then: tables and strings
 * are not looked into).
 */
export function decodeMethod(payload: Buffer, layoutOnly = false): Method | undefined {
  const id = methodKey(payload);
  const r = new Reader(payload, 4);
  r.layoutOnly = layoutOnly;
  const args = decodeArgs(id, r);
  if (args === undefined) return undefined;
  if (r.remaining !== 0) throw new DecodeError('bytes after the arguments');
  return { id, args } as Method;
}

function beginFrame(w: Writer, type: number, channel: number): number {
  w.ensure(HEADER_SIZE);
  w.octet(type);
  w.short(channel);
  const sizeOffset = w.pos - w.start;
  w.pos += 4;
  return sizeOffset;
}

/** Takes back a frame whose payload could not be encoded, so no half-written frame is ever sent. */
function abandonFrame(w: Writer, sizeOffset: number): void {
  w.pos = w.start + sizeOffset - 3;
}

function endFrame(w: Writer, sizeOffset: number): void {
  w.patchLength(sizeOffset);
  w.octet(FRAME_END);
}

export function writeMethod<K extends Method['id']>(w: Writer, channel: number, id: K, args: Partial<MethodArgs<K>>): void {
  const sizeOffset = beginFrame(w, FRAME_METHOD, channel);
  try {
    w.long(id);
    encodeArgs(id, args, w);
  } catch (err) {
    abandonFrame(w, sizeOffset);
    throw err;
  }
  endFrame(w, sizeOffset);
}

export function writeContentHeader(w: Writer, channel: number, bodySize: number, props: BasicProperties): void {
  const sizeOffset = beginFrame(w, FRAME_HEADER, channel);
  try {
    w.short(CONTENT_CLASS_ID);
    w.short(0);
    w.longlong(bodySize);
    w.short(propertyFlags(props));
    encodeProperties(props, w);
  } catch (err) {
    abandonFrame(w, sizeOffset);
    throw err;
  }
  endFrame(w, sizeOffset);
}

/** A frame around a payload kept as it was received (a content header forwarded unchanged). */
export function writeRawFrame(w: Writer, type: number, channel: number, payload: Buffer): void {
  w.ensure(HEADER_SIZE + payload.length + 1);
  w.octet(type);
  w.short(channel);
  w.long(payload.length);
  w.bytes(payload);
  w.octet(FRAME_END);
}

/** Body frames of at most frameMax bytes each; large parts are referenced, not copied. */
export function writeBody(w: Writer, channel: number, body: Buffer, frameMax: number): void {
  const max = frameMax - FRAME_OVERHEAD;
  for (let off = 0; off < body.length; off += max) {
    const part = body.subarray(off, Math.min(off + max, body.length));
    w.ensure(HEADER_SIZE);
    w.octet(FRAME_BODY);
    w.short(channel);
    w.long(part.length);
    w.ref(part);
    w.octet(FRAME_END);
  }
}

/** The heartbeat frame: type 8, channel 0, no payload. */
export function heartbeatFrame(): Buffer {
  return Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);
}

export interface ContentHeader extends ContentHeaderPrefix {
  properties: BasicProperties;
}

/** Decodes a whole content header payload (properties included). Throws DecodeError. */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  if (payload.length < CONTENT_HEADER_PREFIX_SIZE) throw new DecodeError('content header too short');
  const prefix = layouts().contentHeader.decode(payload, 0);
  return { ...prefix, properties: decodeProperties(prefix.flags, new Reader(payload, CONTENT_HEADER_PREFIX_SIZE)) };
}

/** Body size of a content header payload, read without decoding the properties (the publish fast path). */
export function contentBodySize(payload: Buffer): number {
  return payload.readUInt32BE(4) * 0x100000000 + payload.readUInt32BE(8);
}

/** One method frame as a Buffer (for tests and one-off writes). */
export function encodeMethodFrame<K extends Method['id']>(channel: number, id: K, args: Partial<MethodArgs<K>>): Buffer {
  const w = new Writer(256);
  writeMethod(w, channel, id, args);
  return Buffer.concat(w.drain());
}
