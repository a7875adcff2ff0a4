// Connection and channel behaviour at the frame level, as RabbitMQ shows it. These scenarios were
// recorded from RabbitMQ 3.10 and run against it too: AMQP_URL=amqp://guest:guest@127.0.0.1:5682/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec.js';
import { toFieldTable } from '../../src/protocol/field-table.js';
import { encodeMethodFrame, writeContentHeader } from '../../src/protocol/frames.js';
import {
  ACCESS_REQUEST,
  ACCESS_REQUEST_OK,
  BASIC_CANCEL_OK,
  BASIC_DELIVER,
  BASIC_GET_OK,
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_QOS_OK,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_FLOW,
  CHANNEL_FLOW_OK,
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONNECTION_CLOSE,
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_START,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  QUEUE_DELETE,
  QUEUE_DELETE_OK,
} from '../../src/protocol/generated/spec.js';
import { testBroker, type TestBroker } from '../support/broker.js';
import { PROTOCOL_HEADER, RawClient, type HandshakeOptions } from '../support/raw-client.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());

const connect = () => RawClient.connect(broker.port, broker.host);
const open = (options: HandshakeOptions = {}, channels: number[] = []) => RawClient.open(broker.port, broker.host, options, channels);

/** RabbitMQ's reply to a hard error: connection.close, then the socket goes when we answer close-ok. */
async function expectConnectionClose(c: RawClient, replyCode: number, replyText: string, classId = 0, methodId = 0) {
  const close = await c.expectMethod(CONNECTION_CLOSE);
  expect(close).toEqual({ replyCode, replyText, classId, methodId });
  c.method(0, CONNECTION_CLOSE_OK, {});
  // after a frame it cannot parse past, RabbitMQ reads nothing more and hangs up 3 s later
  expect(await c.closed(replyCode === 501 && classId === 0 ? 4000 : 2000)).toBeDefined();
}

/** RabbitMQ's answer to a failed handshake: nothing at all, and the socket dropped about 3 s later. */
async function expectSilentClose(c: RawClient, since: number, framesBefore: number) {
  const took = await c.closed(6000, since);
  expect(c.frames.slice(framesBefore).filter((f) => f.type !== 8)).toEqual([]);
  expect(took).toBeGreaterThan(2500);
  expect(took).toBeLessThan(4500);
}

function basicQosFrame(channel: number): Buffer {
  return encodeMethodFrame(channel, BASIC_QOS, { prefetchSize: 0, prefetchCount: 10, global: false });
}

function contentHeader(channel: number, bodySize: number, classId = 60): Buffer {
  const w = new Writer();
  writeContentHeader(w, channel, bodySize, {});
  const frame = Buffer.concat(w.drain());
  frame.writeUInt16BE(classId, 7);
  return frame;
}

describe('protocol header', () => {
  it('answers the 0-9-1 header with connection.start as RabbitMQ', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    const start = await c.expectMethod(CONNECTION_START);
    expect(start.versionMajor).toBe(0);
    expect(start.versionMinor).toBe(9);
    expect(start.mechanisms.toString()).toBe('PLAIN AMQPLAIN');
    expect(start.locales.toString()).toBe('en_US');
    const props = start.serverProperties;
    expect(Object.keys(props).sort()).toEqual(['capabilities', 'cluster_name', 'copyright', 'information', 'platform', 'product', 'version']);
    expect(props.product).toEqual({ type: 'S', value: 'RabbitMQ' });
    expect(props.version.type).toBe('S');
    expect(String(props.version.value)).toMatch(/^3\.\d+\.\d+$/);
    expect(props.capabilities).toEqual({
      type: 'F',
      value: toFieldTable({
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        consumer_priorities: true,
        authentication_failure_close: true,
        per_consumer_qos: true,
        direct_reply_to: true,
      }),
    });
    c.destroy();
  });

  it('accepts the header one byte at a time', async () => {
    const c = await connect();
    for (const byte of PROTOCOL_HEADER) {
      c.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 5));
    }
    await c.expectMethod(CONNECTION_START);
    c.destroy();
  });

  it.each([
    ['AMQP 0-9-0', 'AMQP\x00\x00\x09\x00'],
    ['AMQP 0-9-2', 'AMQP\x00\x00\x09\x02'],
    ['AMQP 1.0', 'AMQP\x00\x01\x00\x00'],
    ['HTTP', 'GET / HTTP/1.1\r\n\r\n'],
  ])('answers a %s header with its own header and hangs up', async (_name, header) => {
    const c = await connect();
    c.write(header);
    expect(await c.closed(2000)).toBeDefined();
    expect(c.headerReply).toEqual(PROTOCOL_HEADER);
    expect(c.frames).toEqual([]);
  });
});

describe.concurrent('handshake', () => {
  it('offers channel_max 2047, frame_max 131072 and heartbeat 60', async () => {
    const c = await connect();
    const tune = await c.handshake();
    expect(tune).toEqual({ channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    c.destroy();
  });

  it('refuses a wrong password with 403 when the client has authentication_failure_close', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    c.startOk({ password: 'wrong' });
    await expectConnectionClose(
      c,
      403,
      'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
    );
  });

  it('refuses an unknown user over AMQPLAIN with 403 naming the mechanism', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    c.startOk({ mechanism: 'AMQPLAIN', user: 'nobody' });
    await expectConnectionClose(
      c,
      403,
      'ACCESS_REFUSED - Login was refused using authentication mechanism AMQPLAIN. For details see the broker logfile.',
    );
  });

  it('logs in with AMQPLAIN', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    c.startOk({ mechanism: 'AMQPLAIN', capabilities: null });
    await c.expectMethod(CONNECTION_TUNE);
    c.destroy();
  });

  it.each([
    ['a wrong password without authentication_failure_close', { password: 'wrong', capabilities: null }],
    ['an unknown mechanism', { mechanism: 'FOO' }],
  ])('drops the socket silently after %s', async (_name, options: HandshakeOptions) => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    const since = Date.now();
    c.startOk(options);
    await expectSilentClose(c, since, c.frames.length);
  });

  it.each([
    ['channel_max 0', { channelMax: 0 }],
    ['channel_max 3000', { channelMax: 3000 }],
    ['frame_max 0', { frameMax: 0 }],
    ['frame_max 4095', { frameMax: 4095 }],
    ['frame_max 131073', { frameMax: 131073 }],
  ])('drops the socket silently on tune-ok with %s', async (_name, tune) => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    c.startOk();
    const offered = await c.expectMethod(CONNECTION_TUNE);
    const since = Date.now();
    c.method(0, CONNECTION_TUNE_OK, { ...offered, heartbeat: 0, ...tune });
    await expectSilentClose(c, since, c.frames.length);
  });

  it('drops the socket silently on a start-ok whose client properties it cannot parse', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    const since = Date.now();
    const props = Buffer.from([1, 0x61, 0x5a]);
    c.rawFrame(1, 0, Buffer.concat([Buffer.from([0, 10, 0, 11, 0, 0, 0, props.length]), props, Buffer.from([5]), Buffer.from('PLAIN'), Buffer.from([0, 0, 0, 12]), Buffer.from('\0guest\0guest'), Buffer.from([5]), Buffer.from('en_US')]));
    await expectSilentClose(c, since, c.frames.length);
  });

  it('drops the socket silently when the handshake goes out of order', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    const since = Date.now();
    c.method(0, CONNECTION_OPEN, { virtualHost: '/' });
    await expectSilentClose(c, since, c.frames.length);
  });

  it('refuses an unknown vhost with 530', async () => {
    const c = await connect();
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    c.startOk();
    const tune = await c.expectMethod(CONNECTION_TUNE);
    c.method(0, CONNECTION_TUNE_OK, { ...tune, heartbeat: 0 });
    c.method(0, CONNECTION_OPEN, { virtualHost: 'nope' });
    await expectConnectionClose(c, 530, 'NOT_ALLOWED - vhost nope not found', 10, 40);
  });

  it('negotiates a lower channel_max and frame_max', async () => {
    const c = await open({ channelMax: 1, frameMax: 4096 });
    c.method(1, CHANNEL_OPEN, {});
    await c.expectMethod(CHANNEL_OPEN_OK, 1);
    c.destroy();
  });

  it('closes a connection that never completes the handshake after 10 s', async () => {
    const c = await connect();
    c.write('AMQP');
    const took = await c.closed(12000);
    expect(took).toBeGreaterThan(9500);
    expect(took).toBeLessThan(11000);
    expect(c.frames).toEqual([]);
  }, 15000);
});

describe.concurrent('heartbeats', () => {
  it('sends heartbeats every half interval and drops a silent peer after two to three intervals', async () => {
    const c = await open({ heartbeat: 1 });
    const since = Date.now();
    const took = await c.closed(5000, since);
    const beats = c.frames.filter((f) => f.type === 8 && f.channel === 0);
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(took).toBeGreaterThan(1900);
    expect(took).toBeLessThan(3600);
  });

  it('keeps a connection whose client sends heartbeats', async () => {
    const c = await open({ heartbeat: 1 });
    const timer = setInterval(() => c.rawFrame(8, 0, Buffer.alloc(0)), 400);
    await new Promise((r) => setTimeout(r, 3500));
    clearInterval(timer);
    expect(c.closedAt).toBeUndefined();
    c.destroy();
  });
});

describe.concurrent('frame errors', () => {
  it('closes with 501 on a wrong frame-end octet, quoting the payload as RabbitMQ prints it', async () => {
    const c = await open({}, [1]);
    const qos = basicQosFrame(1);
    c.rawFrame(1, 1, qos.subarray(7, qos.length - 1), 0);
    await expectConnectionClose(
      c,
      501,
      'FRAME_ERROR - type 1, all octets = <<0,60,0,10,0,0,0,0,0,10,0>>: {invalid_frame_end_marker,\n                                                    0}',
    );
  });

  it('closes with 501 on a frame larger than frame_max, as soon as its header arrives', async () => {
    const c = await open({}, [1]);
    c.write(Buffer.from([1, 0, 1, 0, 2, 0, 1]));
    await expectConnectionClose(c, 501, 'FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,131073,131064}');
  });

  it('accepts payloads up to frame_max itself, as RabbitMQ does', async () => {
    const c = await open({ frameMax: 4096 }, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'nowhere' });
    c.write(contentHeader(1, 4096));
    c.rawFrame(3, 1, Buffer.alloc(4096));
    c.write(basicQosFrame(1));
    await c.expectMethod(BASIC_QOS_OK, 1);
    c.destroy();
  });

  it('closes with 501 on a method frame above a negotiated frame_max of 4096', async () => {
    const c = await open({ frameMax: 4096 }, [1]);
    const frame = encodeMethodFrame(1, QUEUE_DECLARE, { queue: 'x', arguments: toFieldTable({ pad: 'p'.repeat(4900) }) });
    c.write(frame);
    await expectConnectionClose(c, 501, `FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,${frame.length - 8},4088}`);
  });

  it.each([
    [5, 0],
    [9, 0],
    [5, 1],
  ])('closes with 501 on unknown frame type %i on channel %i', async (type, channel) => {
    const c = await open({}, [1]);
    c.rawFrame(type, channel, Buffer.from('abcd'));
    await expectConnectionClose(c, 501, `FRAME_ERROR - type ${type}, all octets = <<"abcd">>: unknown_frame`);
  });

  it('closes with 505 on a heartbeat frame on a channel', async () => {
    const c = await open({}, [1]);
    c.rawFrame(8, 1, Buffer.alloc(0));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - type 8, all octets = <<>>');
  });

  it('closes with 501 on a heartbeat frame with a payload', async () => {
    const c = await open();
    c.rawFrame(8, 0, Buffer.from('abcd'));
    await expectConnectionClose(c, 501, 'FRAME_ERROR - type 8, all octets = <<"abcd">>: unknown_frame');
  });

  it('closes with 505 on content frames on channel 0', async () => {
    const c = await open();
    c.rawFrame(3, 0, Buffer.from('hello'));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - type 3, all octets = <<"hello">>');
  });

  it('resets the connection on an unknown class or method, saying nothing', async () => {
    for (const [classId, methodId] of [
      [99, 10],
      [60, 99],
    ]) {
      const c = await open({}, [1]);
      const before = c.frames.length;
      const payload = Buffer.alloc(4);
      payload.writeUInt16BE(classId, 0);
      payload.writeUInt16BE(methodId, 2);
      c.rawFrame(1, 1, payload);
      expect(await c.closed(2000)).toBeDefined();
      expect(c.reset).toBe(true);
      expect(c.frames.length).toBe(before);
    }
  });

  it('closes with 501 "cannot decode" on truncated or trailing arguments', async () => {
    const c = await open({}, [1]);
    c.rawFrame(1, 1, Buffer.from([0, 50, 0, 10, 0, 0, 5, 97, 98]));
    await expectConnectionClose(c, 501, 'FRAME_ERROR - cannot decode <<0,0,5,97,98>>', 50, 10);
    const d = await open();
    d.rawFrame(1, 2, Buffer.from([0, 20, 0, 10, 0, 0xde, 0xad]));
    await expectConnectionClose(d, 501, 'FRAME_ERROR - cannot decode <<0,222,173>>', 20, 10);
  });

  it('prints the arguments it cannot decode as bytes, printable or not (~w)', async () => {
    const c = await open({}, [1]);
    c.rawFrame(1, 1, Buffer.concat([Buffer.from([0, 50, 0, 10]), Buffer.from('abcdefgh')]));
    await expectConnectionClose(c, 501, 'FRAME_ERROR - cannot decode <<97,98,99,100,101,102,103,104>>', 50, 10);
  });

  it('closes with 501 on a short string that is not UTF-8, except in basic.publish', async () => {
    const declare = (name: Buffer) => Buffer.concat([Buffer.from([0, 50, 0, 10, 0, 0, name.length]), name, Buffer.from([0, 0, 0, 0, 0])]);
    for (const bad of [Buffer.from([0xc3, 0x28]), Buffer.from([0xc0, 0x80]), Buffer.from([0x61, 0x80])]) {
      const c = await open({}, [1]);
      c.rawFrame(1, 1, declare(bad));
      await expectConnectionClose(c, 501, 'FRAME_ERROR - Malformed UTF-8 in shortstr');
    }
    // a consumer tag and a channel.close text are checked too
    const tag = await open({}, [1]);
    tag.rawFrame(1, 1, Buffer.from([0, 60, 0, 20, 0, 0, 1, 0x71, 1, 0xff, 0, 0, 0, 0, 0]));
    await expectConnectionClose(tag, 501, 'FRAME_ERROR - Malformed UTF-8 in shortstr');
    const text = await open({}, [1]);
    text.rawFrame(1, 1, Buffer.from([0, 20, 0, 40, 0, 200, 1, 0xff, 0, 0, 0, 0]));
    await expectConnectionClose(text, 501, 'FRAME_ERROR - Malformed UTF-8 in shortstr');
    // Erlang's decoder takes an encoded surrogate, which Node's refuses
    const surrogate = await open({}, [1]);
    surrogate.rawFrame(1, 1, declare(Buffer.from([0xed, 0xa0, 0x80])));
    await surrogate.expectMethod(QUEUE_DECLARE_OK, 1);
    surrogate.rawFrame(1, 1, Buffer.from([0, 50, 0, 40, 0, 0, 3, 0xed, 0xa0, 0x80, 0]));
    await surrogate.expectMethod(QUEUE_DELETE_OK, 1);
    // basic.publish's routing key is not looked at
    const publish = await open({}, [1]);
    publish.rawFrame(1, 1, Buffer.from([0, 60, 0, 40, 0, 0, 0, 1, 0xff, 0]));
    publish.write(contentHeader(1, 0));
    publish.write(basicQosFrame(1));
    await publish.expectMethod(BASIC_QOS_OK, 1);
  });

  it('resets the connection on a field table it cannot parse, saying nothing', async () => {
    const declareWith = (entries: Buffer) =>
      Buffer.concat([Buffer.from([0, 50, 0, 10, 0, 0, 1, 0x71, 0x02]), Buffer.from([0, 0, 0, entries.length]), entries]);
    for (const entries of [
      Buffer.from([5, 0x78, 0x2d, 0x66, 0x6f, 0x6f, 0x5a]), // unknown type 'Z'
      Buffer.from([1, 0x61, 0x41, 0, 0, 0, 1, 0x5a]), // an array holding one
      Buffer.from([1, 0x61, 0x53, 0, 0, 0, 9, 0x62]), // a longstr running past the table
    ]) {
      const c = await open({}, [1]);
      const before = c.frames.length;
      c.rawFrame(1, 1, declareWith(entries));
      expect(await c.closed(2000)).toBeDefined();
      expect(c.reset).toBe(true);
      expect(c.frames.length).toBe(before);
    }
    // but arguments whose layout does not fit the frame are "cannot decode", whatever the table holds
    const c = await open({}, [1]);
    const payload = Buffer.concat([declareWith(Buffer.from([1, 0x61, 0x5a])), Buffer.from([7])]);
    c.rawFrame(1, 1, payload);
    await expectConnectionClose(c, 501, `FRAME_ERROR - cannot decode <<${payload.subarray(4).join(',')}>>`, 50, 10);
  });

  it('reads a table value of type L as a signed 64-bit long', async () => {
    const c = await open({}, [1]);
    const arg = Buffer.concat([Buffer.from([12]), Buffer.from('x-max-length'), Buffer.from('L'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 1])]);
    const name = `warren-long-${process.pid}-${Date.now()}`;
    c.rawFrame(1, 1, Buffer.concat([Buffer.from([0, 50, 0, 10, 0, 0, name.length]), Buffer.from(name), Buffer.from([0, 0, 0, 0, arg.length]), arg]));
    expect(await c.expectMethod(QUEUE_DECLARE_OK, 1)).toEqual({ queue: name, messageCount: 0, consumerCount: 0 });
    // the same queue declared with x-max-length as an ordinary long is the same declaration
    c.method(1, QUEUE_DECLARE, { queue: name, arguments: toFieldTable({ 'x-max-length': 1 }) });
    await c.expectMethod(QUEUE_DECLARE_OK, 1);
    c.method(1, QUEUE_DELETE, { queue: name });
    await c.expectMethod(QUEUE_DELETE_OK, 1);
  });

  it('closes with 501 on a method frame too short for its ids', async () => {
    const c = await open({}, [1]);
    c.rawFrame(1, 1, Buffer.from([0, 60]));
    await expectConnectionClose(c, 501, 'FRAME_ERROR - type 1, all octets = <<0,60>>: unknown_frame');
  });
});

describe.concurrent('content assembly', () => {
  it('closes with 505 on a content header without a method', async () => {
    const c = await open({}, [1]);
    c.write(contentHeader(1, 5));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead');
  });

  it('closes with 505 on a body frame without a header', async () => {
    const c = await open({}, [1]);
    c.rawFrame(3, 1, Buffer.from('hello'));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead');
  });

  it('closes with 505 when a method comes where the content header should', async () => {
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.write(basicQosFrame(1));
    await expectConnectionClose(
      c,
      505,
      'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead',
      60,
      40,
    );
  });

  it('closes with 505 when a method interrupts the body', async () => {
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.write(contentHeader(1, 10));
    c.rawFrame(3, 1, Buffer.from('hello'));
    c.write(basicQosFrame(1));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected content body, got non content body frame instead', 60, 40);
  });

  it('closes with 505 on a content header of another class', async () => {
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.write(contentHeader(1, 5, 50));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead', 60, 40);
  });

  it('takes a content header of weight other than 0 for no content header (505)', async () => {
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    const header = contentHeader(1, 5);
    header.writeUInt16BE(1, 9);
    c.write(header);
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead', 60, 40);
  });

  it('closes with 501 unknown_frame on a content header shorter than 12 bytes, expected or not', async () => {
    const short = Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.rawFrame(2, 1, short);
    await expectConnectionClose(c, 501, 'FRAME_ERROR - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0>>: unknown_frame');
    for (const channel of [1, 0]) {
      const d = await open({}, [1]);
      d.rawFrame(2, channel, short);
      await expectConnectionClose(d, 501, 'FRAME_ERROR - type 2, all octets = <<0,60,0,0,0,0,0,0,0,0,0>>: unknown_frame');
    }
  });

  it('closes with 505 on a body frame after a header that announced an empty body', async () => {
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.write(contentHeader(1, 0));
    c.rawFrame(3, 1, Buffer.from('abc'));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected method frame, got non method frame instead');
  });

  it('closes the channel with 406 on a message above the 128 MiB max_message_size', async () => {
    const c = await open({}, [1]);
    const size = 134217729;
    c.method(1, BASIC_PUBLISH, { routingKey: 'nowhere' });
    c.write(contentHeader(1, size));
    const chunk = Buffer.alloc(131064);
    for (let sent = 0; sent < size; sent += chunk.length) c.rawFrame(3, 1, chunk.subarray(0, Math.min(chunk.length, size - sent)));
    const close = await c.expectMethod(CHANNEL_CLOSE, 1, 20000);
    expect(close).toEqual({
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - message size 134217729 is larger than configured max size 134217728',
      classId: 60,
      methodId: 40,
    });
    c.destroy();
  }, 30000);

  it('never completes a body longer than announced: the next method gets 505', async () => {
    const c = await open({}, [1]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.write(contentHeader(1, 5));
    c.rawFrame(3, 1, Buffer.from('0123456789'));
    c.write(basicQosFrame(1));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected content body, got non content body frame instead', 60, 40);
  });

  it('assembles content interleaved across channels and empty body frames', async () => {
    const c = await open({}, [1, 2]);
    c.method(1, BASIC_PUBLISH, { routingKey: 'x' });
    c.method(2, BASIC_PUBLISH, { routingKey: 'x' });
    c.write(contentHeader(1, 5));
    c.write(contentHeader(2, 3));
    c.rawFrame(3, 1, Buffer.alloc(0));
    c.rawFrame(3, 2, Buffer.from('abc'));
    c.rawFrame(3, 1, Buffer.from('hello'));
    c.write(basicQosFrame(1));
    c.write(basicQosFrame(2));
    const qosOk = () => c.frames.filter((f) => f.method?.id === BASIC_QOS_OK).map((f) => f.channel);
    await c.until(() => qosOk().length === 2);
    expect(qosOk().sort()).toEqual([1, 2]);
    c.destroy();
  });
});

describe.concurrent('channels', () => {
  it('closes the connection with 504 on a channel method on channel 0', async () => {
    const c = await open();
    c.write(basicQosFrame(0));
    await expectConnectionClose(c, 504, 'CHANNEL_ERROR - unexpected method in connection state running', 60, 10);
  });

  it('closes the connection with 504 on a second channel.open', async () => {
    const c = await open({}, [1]);
    c.method(1, CHANNEL_OPEN, {});
    await expectConnectionClose(c, 504, "CHANNEL_ERROR - second 'channel.open' seen", 20, 10);
  });

  it('closes the connection with 504 on a method on a channel never opened', async () => {
    const c = await open();
    c.write(basicQosFrame(5));
    await expectConnectionClose(c, 504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10);
  });

  it('limits the number of open channels, not their ids, to channel_max', async () => {
    const c = await open({ channelMax: 2 }, [1, 2047]);
    c.method(3, CHANNEL_OPEN, {});
    await expectConnectionClose(c, 530, 'NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)');
  });

  it('opens a channel with an id above channel_max', async () => {
    const c = await open({}, [2048, 65535]);
    expect(c.frames.filter((f) => f.method?.id === CHANNEL_OPEN_OK).map((f) => f.channel)).toEqual([2048, 65535]);
    c.destroy();
  });

  it('answers channel.flow active=true and refuses active=false with 540', async () => {
    const c = await open({}, [1]);
    c.method(1, CHANNEL_FLOW, { active: true });
    expect(await c.expectMethod(CHANNEL_FLOW_OK, 1)).toEqual({ active: true });
    c.method(1, CHANNEL_FLOW, { active: false });
    await expectConnectionClose(c, 540, 'NOT_IMPLEMENTED - active=false', 20, 20);
  });

  it.each([
    ['channel.open-ok', encodeMethodFrame(1, CHANNEL_OPEN_OK, {}), 20, 11],
    ['channel.close-ok without a close', encodeMethodFrame(1, CHANNEL_CLOSE_OK, {}), 20, 41],
    ['basic.qos-ok', encodeMethodFrame(1, BASIC_QOS_OK, {}), 60, 11],
    ['connection.open', encodeMethodFrame(1, CONNECTION_OPEN, { virtualHost: '/' }), 10, 40],
    ['basic.cancel-ok (RabbitMQ cancels with nowait)', encodeMethodFrame(1, BASIC_CANCEL_OK, { consumerTag: 't' }), 60, 31],
    ['channel.flow-ok', encodeMethodFrame(1, CHANNEL_FLOW_OK, { active: true }), 20, 21],
  ])('closes the connection with 503 on %s on a channel', async (_name, frame, classId, methodId) => {
    const c = await open({}, [1]);
    c.write(frame);
    await expectConnectionClose(c, 503, 'COMMAND_INVALID - unimplemented method', classId, methodId);
  });

  it('takes the content of a basic.deliver or get-ok a client sends before calling it unimplemented', async () => {
    const deliver = encodeMethodFrame(1, BASIC_DELIVER, { consumerTag: 't', deliveryTag: 1, routingKey: 'q' });
    const c = await open({}, [1]);
    c.write(deliver);
    c.write(basicQosFrame(1));
    await expectConnectionClose(c, 505, 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead', 60, 60);
    const d = await open({}, [1]);
    d.write(deliver);
    d.write(contentHeader(1, 1));
    d.rawFrame(3, 1, Buffer.from('x'));
    await expectConnectionClose(d, 503, 'COMMAND_INVALID - unimplemented method', 60, 60);
    const e = await open({}, [1]);
    e.write(encodeMethodFrame(1, BASIC_GET_OK, { deliveryTag: 1, routingKey: 'q', messageCount: 0 }));
    e.write(contentHeader(1, 0));
    await expectConnectionClose(e, 503, 'COMMAND_INVALID - unimplemented method', 60, 71);
  });

  it.each([
    ['connection.start', encodeMethodFrame(0, CONNECTION_START, { versionMajor: 0, versionMinor: 9, mechanisms: Buffer.from('PLAIN'), locales: Buffer.from('en_US') }), 10, 10],
    ['connection.tune-ok', encodeMethodFrame(0, CONNECTION_TUNE_OK, { channelMax: 2, frameMax: 131072, heartbeat: 0 }), 10, 31],
    ['connection.open', encodeMethodFrame(0, CONNECTION_OPEN, { virtualHost: '/' }), 10, 40],
    ['connection.close-ok without a close', encodeMethodFrame(0, CONNECTION_CLOSE_OK, {}), 10, 51],
    ['connection.blocked', encodeMethodFrame(0, CONNECTION_BLOCKED, { reason: 'x' }), 10, 60],
  ])('closes the connection with 504 on %s once it is open', async (_name, frame, classId, methodId) => {
    const c = await open();
    c.write(frame);
    await expectConnectionClose(c, 504, 'CHANNEL_ERROR - unexpected method in connection state running', classId, methodId);
  });

  it('answers arguments it cannot decode on channel 0 with a bare 541, and a short string that is not UTF-8 with 501 naming the method', async () => {
    for (const payload of [Buffer.from([0, 10, 0, 50, 0, 200, 0, 0, 0, 0, 0, 9]), Buffer.from([0, 10, 0, 70, 0, 0, 0, 50, 0x67])]) {
      const c = await open();
      c.rawFrame(1, 0, payload);
      await expectConnectionClose(c, 541, 'INTERNAL_ERROR');
    }
    const c = await open();
    c.rawFrame(1, 0, Buffer.from([0, 10, 0, 50, 0, 200, 1, 0xff, 0, 0, 0, 0]));
    await expectConnectionClose(c, 501, 'FRAME_ERROR - Malformed UTF-8 in shortstr', 10, 50);
  });

  it('answers access.request with ticket 1', async () => {
    const c = await open({}, [1]);
    c.method(1, ACCESS_REQUEST, { realm: '/data', passive: true, active: true, write: true, read: true });
    expect(await c.expectMethod(ACCESS_REQUEST_OK, 1)).toEqual({ ticket: 1 });
    c.destroy();
  });

  it('closes a channel the client closes, and reopens its id', async () => {
    const c = await open({}, [1]);
    c.method(1, CHANNEL_CLOSE, { replyCode: 200, replyText: 'bye' });
    await c.expectMethod(CHANNEL_CLOSE_OK, 1);
    c.write(basicQosFrame(1));
    await expectConnectionClose(c, 504, "CHANNEL_ERROR - expected 'channel.open'", 60, 10);
    const d = await open({}, [1]);
    d.method(1, CHANNEL_CLOSE, { replyCode: 200, replyText: 'bye' });
    await d.expectMethod(CHANNEL_CLOSE_OK, 1);
    d.method(1, CHANNEL_OPEN, {});
    await d.expectMethod(CHANNEL_OPEN_OK, 1);
    d.destroy();
  });

  it('opens and closes 2047 channels pipelined', async () => {
    const c = await open();
    const ids = Array.from({ length: 2047 }, (_, i) => i + 1);
    c.write(Buffer.concat(ids.map((id) => encodeMethodFrame(id, CHANNEL_OPEN, {}))));
    const count = (id: number) => c.frames.filter((f) => f.method?.id === id).length;
    await c.until(() => count(CHANNEL_OPEN_OK) >= 2047, 10000);
    expect(count(CHANNEL_OPEN_OK)).toBe(2047);
    c.write(Buffer.concat(ids.map((id) => encodeMethodFrame(id, CHANNEL_CLOSE, { replyCode: 200, replyText: 'bye' }))));
    await c.until(() => count(CHANNEL_CLOSE_OK) >= 2047, 10000);
    expect(new Set(c.frames.filter((f) => f.method?.id === CHANNEL_CLOSE_OK).map((f) => f.channel)).size).toBe(2047);
    c.destroy();
  });
});

describe.concurrent('closing', () => {
  it('answers connection.close with close-ok', async () => {
    const c = await open({}, [1]);
    c.method(0, CONNECTION_CLOSE, { replyCode: 200, replyText: 'bye' });
    await c.expectMethod(CONNECTION_CLOSE_OK);
    c.destroy();
  });

  it('ignores everything but close-ok after closing the connection, then drops it at once', async () => {
    const c = await open({}, [1]);
    c.method(1, CHANNEL_OPEN, {});
    await c.expectMethod(CONNECTION_CLOSE);
    const before = c.frames.length;
    c.write(basicQosFrame(1));
    c.method(2, CHANNEL_OPEN, {});
    await new Promise((r) => setTimeout(r, 300));
    expect(c.frames.length).toBe(before);
    const since = Date.now();
    c.method(0, CONNECTION_CLOSE_OK, {});
    expect(await c.closed(1000, since)).toBeLessThan(500);
  });

  it('answers a connection.close that crosses its own with close-ok', async () => {
    const c = await open({}, [1]);
    c.method(1, CHANNEL_OPEN, {});
    await c.expectMethod(CONNECTION_CLOSE);
    c.method(0, CONNECTION_CLOSE, { replyCode: 200, replyText: 'me too' });
    await c.expectMethod(CONNECTION_CLOSE_OK);
    c.destroy();
  });
});
