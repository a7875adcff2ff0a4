// The hand-written hot-path codecs agree with the generated ones on every input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec.js';
import { decodeAck, decodePublish, writeDeliver } from '../../src/protocol/fast-path.js';
import { decodeMethod, encodeMethodFrame } from '../../src/protocol/frames.js';
import { BASIC_ACK, BASIC_DELIVER, BASIC_PUBLISH } from '../../src/protocol/generated/spec.js';

const shortstr = fc.string({ maxLength: 60 }).filter((s) => Buffer.byteLength(s) <= 255);
const tag = fc.maxSafeInteger().map(Math.abs);
const payloadOf = (frame: Buffer) => frame.subarray(7, -1);

describe('hot-path codecs', () => {
  it('decodePublish reads what the generic decoder reads', () => {
    fc.assert(
      fc.property(fc.nat(65535), shortstr, shortstr, fc.boolean(), fc.boolean(), (ticket, exchange, routingKey, mandatory, immediate) => {
        const args = { ticket, exchange, routingKey, mandatory, immediate };
        const payload = payloadOf(encodeMethodFrame(1, BASIC_PUBLISH, args));
        expect(decodePublish(payload)).toEqual(decodeMethod(payload)!.args);
      }),
    );
  });

  it('decodePublish and decodeAck reject what the generic decoder rejects', () => {
    const publish = payloadOf(encodeMethodFrame(1, BASIC_PUBLISH, { exchange: 'x', routingKey: 'k' }));
    for (let cut = 4; cut < publish.length; cut++) expect(() => decodePublish(publish.subarray(0, cut))).toThrow();
    expect(() => decodePublish(Buffer.concat([publish, Buffer.from([0])]))).toThrow();
    const ack = payloadOf(encodeMethodFrame(1, BASIC_ACK, { deliveryTag: 5 }));
    expect(() => decodeAck(ack.subarray(0, 12))).toThrow();
    expect(() => decodeAck(Buffer.concat([ack, Buffer.from([0])]))).toThrow();
  });

  it('decodeAck reads what the generic decoder reads', () => {
    fc.assert(
      fc.property(tag, fc.boolean(), (deliveryTag, multiple) => {
        const payload = payloadOf(encodeMethodFrame(1, BASIC_ACK, { deliveryTag, multiple }));
        expect(decodeAck(payload)).toEqual(decodeMethod(payload)!.args);
      }),
    );
  });

  it('writeDeliver writes the bytes the generic encoder writes', () => {
    fc.assert(
      fc.property(fc.nat(65535), shortstr, tag, fc.boolean(), shortstr, shortstr, (channel, consumerTag, deliveryTag, redelivered, exchange, routingKey) => {
        const w = new Writer(8);
        writeDeliver(w, channel, consumerTag, deliveryTag, redelivered, exchange, routingKey);
        const ours = Buffer.concat(w.drain());
        expect(ours).toEqual(encodeMethodFrame(channel, BASIC_DELIVER, { consumerTag, deliveryTag, redelivered, exchange, routingKey }));
      }),
    );
  });
});
