// Hand-written codecs for the methods every message passes through (publish, deliver, ack). They do
// what the generated code does without its intermediate objects; tests check them against it.
import { DecodeError, type Writer } from './codec.js';
import { FRAME_END, FRAME_METHOD, type BasicAck, type BasicPublish } from './generated/spec.js';

/** basic.publish arguments from a method payload (the 4 id bytes included). */
export function decodePublish(payload: Buffer): BasicPublish {
  const len = payload.length;
  // ticket (2 bytes) after the ids, then two shortstrs and one bit octet
  let pos = 6;
  if (pos >= len) throw new DecodeError('payload too short');
  const exLen = payload[pos++];
  const exEnd = pos + exLen;
  if (exEnd >= len) throw new DecodeError('payload too short');
  const exchange = exLen === 0 ? '' : payload.toString('utf8', pos, exEnd);
  const rkLen = payload[exEnd];
  const rkStart = exEnd + 1;
  const rkEnd = rkStart + rkLen;
  if (rkEnd + 1 !== len) throw new DecodeError(rkEnd >= len ? 'payload too short' : 'bytes after the arguments');
  const routingKey = rkLen === 0 ? '' : payload.toString('utf8', rkStart, rkEnd);
  const bits = payload[rkEnd];
  return { ticket: payload.readUInt16BE(4), exchange, routingKey, mandatory: (bits & 1) !== 0, immediate: (bits & 2) !== 0 };
}

/** basic.ack arguments: delivery tag (64 bits) and the multiple bit. */
export function decodeAck(payload: Buffer): BasicAck {
  if (payload.length !== 13) throw new DecodeError(payload.length < 13 ? 'payload too short' : 'bytes after the arguments');
  return { deliveryTag: payload.readUInt32BE(4) * 0x100000000 + payload.readUInt32BE(8), multiple: (payload[12] & 1) !== 0 };
}

/** A basic.deliver method frame. */
export function writeDeliver(
  w: Writer,
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
): void {
  // frame header 7 + ids 4 + 3 shortstr lengths + 8 tag + 1 bit + end 1, strings at most 3 bytes per UTF-16 unit
  w.ensure(24 + 3 * (consumerTag.length + exchange.length + routingKey.length));
  const b = w.buf;
  let p = w.pos;
  b[p] = FRAME_METHOD;
  b.writeUInt16BE(channel, p + 1);
  const sizeAt = p + 3;
  p += 7;
  b.writeUInt32BE(0x003c003c, p);
  p += 4;
  p = shortstr(b, p, consumerTag);
  b.writeUInt32BE(Math.floor(deliveryTag / 0x100000000), p);
  b.writeUInt32BE(deliveryTag >>> 0, p + 4);
  p += 8;
  b[p++] = redelivered ? 1 : 0;
  p = shortstr(b, p, exchange);
  p = shortstr(b, p, routingKey);
  b.writeUInt32BE(p - sizeAt - 4, sizeAt);
  b[p++] = FRAME_END;
  w.pos = p;
}

function shortstr(b: Buffer, p: number, s: string): number {
  const n = s.length === 0 ? 0 : b.write(s, p + 1, 'utf8');
  if (n > 255) throw new RangeError(`shortstr too long (${n} bytes)`);
  b[p] = n;
  return p + 1 + n;
}
