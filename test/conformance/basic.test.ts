// The basic class (publish, consume, get, ack and friends), publisher confirms, transactions and direct
// reply-to, as RabbitMQ 3.10 behaves. Written against RabbitMQ and run against it too:
// AMQP_URL=amqp://guest:guest@127.0.0.1:5682/ npx vitest run test/conformance/basic.test.ts
// amqplib drives the ordinary cases; RawClient sends what amqplib cannot (immediate, recover requeue=false,
// recover-async, prefetch_size, tx.*, confirm.select next to tx.select, the 14th property cluster-id).
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Writer } from '../../src/protocol/codec.js';
import { toFieldTable } from '../../src/protocol/field-table.js';
import { decodeContentHeader, writeBody, writeContentHeader, writeMethod } from '../../src/protocol/frames.js';
import {
  BASIC_ACK,
  BASIC_CONSUME,
  BASIC_CONSUME_OK,
  BASIC_DELIVER,
  BASIC_GET,
  BASIC_GET_EMPTY,
  BASIC_GET_OK,
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_QOS_OK,
  BASIC_RECOVER,
  BASIC_RECOVER_ASYNC,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CONFIRM_SELECT,
  CONFIRM_SELECT_OK,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  FRAME_BODY,
  FRAME_HEADER,
  TX_COMMIT,
  TX_COMMIT_OK,
  TX_ROLLBACK,
  TX_ROLLBACK_OK,
  TX_SELECT,
  TX_SELECT_OK,
  type BasicProperties,
} from '../../src/protocol/generated/spec.js';
import { RawClient } from '../support/raw-client.js';
import { scenarioSuite } from '../support/session.js';
import { body, consumer, expectChannelError, get, sleep, waitFor } from '../support/scenario.js';

const suite = scenarioSuite();

// ---------------------------------------------------------------------------------------------------
// Bookkeeping: every connection a test opens is closed after it, every queue it declares is deleted.

const raws = () => suite.session.raws;
const queues = () => suite.session.queues;
const admin = () => suite.session.admin();
const connection = () => suite.session.connection();
const channel = (conn?: ChannelModel) => suite.session.channel(conn);
const counts = (q: string) => suite.session.counts(q);
const waitForCount = (q: string, n: number, timeoutMs?: number) => suite.session.waitForCount(q, n, timeoutMs);

const unique = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

/** A non-exclusive queue, deleted after the test. */
async function queue(ch?: Channel): Promise<string> {
  const name = unique('warren-basic');
  queues().push(name);
  await (ch ?? (await admin())).assertQueue(name, { durable: false, autoDelete: false });
  return name;
}

/** A queue holding messages "m0".."m{n-1}", in that order. */
async function queueWith(n: number): Promise<string> {
  const q = await queue();
  const ch = await admin();
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await waitForCount(q, n);
  return q;
}

/** Time for the broker to send anything more it was going to send (to check that it does not). */
const settle = () => sleep(150);

// ---------------------------------------------------------------------------------------------------
// RawClient helpers

async function raw(channels = [1]): Promise<RawClient> {
  const c = await RawClient.open(suite.broker.port, suite.broker.host, {}, channels);
  raws().push(c);
  return c;
}

function rawPublish(
  c: RawClient,
  ch: number,
  exchange: string,
  routingKey: string,
  content: Buffer | string,
  props: BasicProperties = {},
  flags: { mandatory?: boolean; immediate?: boolean } = {},
) {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const w = new Writer();
  writeMethod(w, ch, BASIC_PUBLISH, { exchange, routingKey, mandatory: !!flags.mandatory, immediate: !!flags.immediate });
  writeContentHeader(w, ch, bytes.length, props);
  writeBody(w, ch, bytes, 131072);
  c.write(Buffer.concat(w.drain()));
}

/** The content header and body frames that follow a deliver, get-ok or return. */
async function rawContent(c: RawClient, ch: number): Promise<{ properties: BasicProperties; body: Buffer }> {
  const h = await c.nextFrame();
  if (!h || h.type !== FRAME_HEADER || h.channel !== ch) throw new Error(`expected a content header on channel ${ch}`);
  const header = decodeContentHeader(h.payload);
  const parts: Buffer[] = [];
  let got = 0;
  while (got < header.bodySize) {
    const f = await c.nextFrame();
    if (!f || f.type !== FRAME_BODY || f.channel !== ch) throw new Error(`expected a content body on channel ${ch}`);
    parts.push(f.payload);
    got += f.payload.length;
  }
  return { properties: header.properties, body: Buffer.concat(parts) };
}

async function rawGet(c: RawClient, ch: number, queueName: string, noAck = false) {
  c.method(ch, BASIC_GET, { queue: queueName, noAck });
  const f = await c.nextFrame();
  if (f?.method?.id === BASIC_GET_EMPTY) return undefined;
  if (f?.method?.id !== BASIC_GET_OK || f.channel !== ch) throw new Error(`expected basic.get-ok, got ${JSON.stringify(f?.method)}`);
  return { ...(f.method.args as { deliveryTag: number; redelivered: boolean; messageCount: number }), ...(await rawContent(c, ch)) };
}

/** A basic.qos round trip: everything sent on the channel before it has been handled. */
async function rawSync(c: RawClient, ch: number) {
  c.method(ch, BASIC_QOS, { prefetchSize: 0, prefetchCount: 0, global: false });
  await c.expectMethod(BASIC_QOS_OK, ch);
}

async function expectRawChannelClose(c: RawClient, ch: number, replyCode: number, replyText: string, classId: number, methodId: number) {
  expect(await c.expectMethod(CHANNEL_CLOSE, ch)).toEqual({ replyCode, replyText, classId, methodId });
  c.method(ch, CHANNEL_CLOSE_OK, {});
  // the connection stays usable
  await rawSync(c, 2);
}

async function expectRawConnectionClose(c: RawClient, replyCode: number, replyText: string, classId: number, methodId: number) {
  expect(await c.expectMethod(CONNECTION_CLOSE)).toEqual({ replyCode, replyText, classId, methodId });
  c.method(0, CONNECTION_CLOSE_OK, {});
  expect(await c.closed(2000)).toBeDefined();
}

// ---------------------------------------------------------------------------------------------------

describe('basic.publish', () => {
  it('closes the channel with 404 when the exchange does not exist', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const x = unique('no-such-exchange');
    await expectChannelError(conn, ch, () => ch.publish(x, 'k', Buffer.from('x')), 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`, 60, 40);
  });

  it('returns a mandatory unroutable message with 312 NO_ROUTE, body and properties intact', async () => {
    const ch = await channel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const content = Buffer.from('return to sender');
    const options = {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: { h: 'v', n: 42 },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr-1',
      replyTo: 'somewhere',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: 1700000000,
      type: 'greeting',
      userId: 'guest',
      appId: 'warren-tests',
    };
    const rk = unique('unroutable');
    ch.publish('amq.direct', rk, content, { ...options, mandatory: true });
    const missing = unique('no-such-queue');
    ch.publish('', missing, Buffer.alloc(0), { mandatory: true });
    await waitFor(() => returned.length === 2);
    expect(returned[0].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: rk });
    expect(returned[0].content).toEqual(content);
    expect(returned[0].properties).toEqual({ ...options, clusterId: undefined });
    expect(returned[1].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: missing });
    expect(returned[1].content.length).toBe(0);
  });

  it('drops a non-mandatory unroutable message silently (and confirms it)', async () => {
    const conn = await connection();
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    const events: string[] = [];
    ch.on('return', () => events.push('return'));
    ch.on('error', () => events.push('error'));
    ch.on('ack', () => events.push('ack'));
    ch.publish('amq.direct', unique('unroutable'), Buffer.from('x'));
    ch.sendToQueue(unique('no-such-queue'), Buffer.from('y'));
    await ch.waitForConfirms();
    await ch.prefetch(1);
    await settle();
    expect(events.filter((e) => e !== 'ack')).toEqual([]);
  });

  it('closes the connection with 540 on immediate=true', async () => {
    const c = await raw();
    rawPublish(c, 1, 'amq.direct', 'x', 'x', {}, { immediate: true });
    await expectRawConnectionClose(c, 540, 'NOT_IMPLEMENTED - immediate=true', 60, 40);
  });

  it('answers immediate=true with 540 before looking at the exchange', async () => {
    const c = await raw();
    rawPublish(c, 1, unique('no-such-exchange'), 'x', 'x', {}, { immediate: true });
    await expectRawConnectionClose(c, 540, 'NOT_IMPLEMENTED - immediate=true', 60, 40);
  });

  it('refuses a user_id property that is not the connection’s user with 406, and takes the right one', async () => {
    const q = await queue();
    const conn = await connection();
    const ch = await channel(conn);
    ch.sendToQueue(q, Buffer.from('mine'), { userId: 'guest' });
    await waitForCount(q, 1);
    await expectChannelError(conn, ch, () => ch.sendToQueue(q, Buffer.from('x'), { userId: 'someone-else' }), 406, "PRECONDITION_FAILED - user_id property set to 'someone-else' but authenticated user was 'guest'", 60, 40);
    expect((await counts(q)).messageCount).toBe(1);
  });

  it('checks user_id before the expiration', async () => {
    const q = await queue();
    const conn = await connection();
    const ch = await channel(conn);
    await expectChannelError(conn, ch, () => ch.sendToQueue(q, Buffer.from('x'), { userId: 'someone-else', expiration: 'abc' }), 406, "PRECONDITION_FAILED - user_id property set to 'someone-else' but authenticated user was 'guest'", 60, 40);
  });

  it('refuses a delivery_mode other than 1 or 2 with 406, after the expiration', async () => {
    const q = await queue();
    for (const mode of [3, 0]) {
      const c = await raw([1, 2]);
      rawPublish(c, 1, '', q, 'x', { deliveryMode: mode });
      await expectRawChannelClose(c, 1, 406, `PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,${mode}}`, 60, 40);
    }
    const c = await raw([1, 2]);
    rawPublish(c, 1, '', q, 'x', { deliveryMode: 3, expiration: 'abc' });
    await expectRawChannelClose(c, 1, 406, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer", 60, 40);
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('refuses CC or BCC headers that are not arrays with 406, CC first and before the delivery_mode', async () => {
    const q = await queue();
    const cases: [BasicProperties, string][] = [
      [{ headers: toFieldTable({ CC: 'a' }) }, '{unacceptable_type_in_header,"CC",longstr}'],
      [{ headers: toFieldTable({ BCC: { k: 'v' } }) }, '{unacceptable_type_in_header,"BCC",table}'],
      [{ headers: toFieldTable({ BCC: 1, CC: null }) }, '{unacceptable_type_in_header,"CC",void}'],
      [{ deliveryMode: 3, headers: toFieldTable({ CC: 'a' }) }, '{unacceptable_type_in_header,"CC",longstr}'],
    ];
    for (const [props, reason] of cases) {
      const c = await raw([1, 2]);
      rawPublish(c, 1, '', q, 'x', props);
      await expectRawChannelClose(c, 1, 406, `PRECONDITION_FAILED - invalid message: ${reason}`, 60, 40);
    }
    // an array's entries that are not strings are passed over
    const c = await raw();
    rawPublish(c, 1, '', q, 'x', { deliveryMode: 2, headers: toFieldTable({ CC: [1, 'also-nowhere'] }) });
    await rawSync(c, 1);
    expect((await counts(q)).messageCount).toBe(1);
  });

  it('checks for a direct reply-to consumer before user_id and the expiration', async () => {
    const q = await queue();
    for (const props of [{ userId: 'someone-else' }, { expiration: 'abc' }]) {
      const c = await raw([1, 2]);
      rawPublish(c, 1, '', q, 'x', { replyTo: 'amq.rabbitmq.reply-to', ...props });
      await expectRawChannelClose(c, 1, 406, 'PRECONDITION_FAILED - fast reply consumer does not exist', 60, 40);
    }
  });

  it('closes the connection with a bare 541 on properties it cannot decode, once the exchange is found', async () => {
    const q = await queue();
    const headerWith = (flags: number, values: Buffer) => {
      const h = Buffer.alloc(14 + values.length);
      h.writeUInt16BE(60, 0);
      h.writeBigUInt64BE(1n, 4);
      h.writeUInt16BE(flags, 12);
      values.copy(h, 14);
      return h;
    };
    const table = (entries: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, entries.length]), entries]);
    const malformed = [
      headerWith(0x8000, Buffer.alloc(0)), // content-type flagged, absent
      headerWith(0x1000, Buffer.from([2, 9, 9])), // bytes after the last property
      headerWith(0x2000, table(Buffer.from([1, 0x6b, 0x5a, 1, 2]))), // a header of unknown type 'Z'
      headerWith(0x2000, Buffer.from([0, 0, 0, 100, 1])), // a headers table longer than the header
      headerWith(0, Buffer.alloc(0)).subarray(0, 12), // no flags word
    ];
    for (const header of malformed) {
      const c = await raw();
      c.method(1, BASIC_PUBLISH, { exchange: '', routingKey: q });
      c.rawFrame(FRAME_HEADER, 1, header);
      c.rawFrame(FRAME_BODY, 1, Buffer.from('x'));
      await expectRawConnectionClose(c, 541, 'INTERNAL_ERROR', 0, 0);
    }
    // in a transaction too: RabbitMQ decodes them at the publish
    const t = await raw();
    t.method(1, TX_SELECT, {});
    await t.expectMethod(TX_SELECT_OK, 1);
    t.method(1, BASIC_PUBLISH, { exchange: '', routingKey: q });
    t.rawFrame(FRAME_HEADER, 1, malformed[0]);
    t.rawFrame(FRAME_BODY, 1, Buffer.from('x'));
    await expectRawConnectionClose(t, 541, 'INTERNAL_ERROR', 0, 0);
    // the exchange is looked up first
    const x = unique('no-such-exchange');
    const c = await raw([1, 2]);
    c.method(1, BASIC_PUBLISH, { exchange: x, routingKey: q });
    c.rawFrame(FRAME_HEADER, 1, malformed[0]);
    c.rawFrame(FRAME_BODY, 1, Buffer.from('x'));
    await expectRawChannelClose(c, 1, 404, `NOT_FOUND - no exchange '${x}' in vhost '/'`, 60, 40);
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('ignores the two low bits of the property flags', async () => {
    const q = await queue();
    const c = await raw();
    const header = Buffer.alloc(15);
    header.writeUInt16BE(60, 0);
    header.writeBigUInt64BE(1n, 4);
    header.writeUInt16BE(0x1000 | 0x3, 12);
    header[14] = 2;
    c.method(1, BASIC_PUBLISH, { exchange: '', routingKey: q });
    c.rawFrame(FRAME_HEADER, 1, header);
    c.rawFrame(FRAME_BODY, 1, Buffer.from('x'));
    const got = await rawGet(c, 1, q, true);
    expect(got?.properties).toEqual({ deliveryMode: 2 });
  });

  it('delivers an empty body', async () => {
    const ch = await channel();
    const q = await queue();
    ch.sendToQueue(q, Buffer.alloc(0), { messageId: 'empty' });
    await waitForCount(q, 1);
    const m = await get(ch, q);
    expect(m.content).toEqual(Buffer.alloc(0));
    expect(m.properties.messageId).toBe('empty');
    const c = await raw();
    rawPublish(c, 1, '', q, Buffer.alloc(0));
    await waitForCount(q, 1);
    const r = await rawGet(c, 1, q);
    expect(r?.body.length).toBe(0);
  });

  it('delivers a 1 MB body split across frames byte for byte', async () => {
    const ch = await channel();
    const q = await queue();
    const big = randomBytes(1 << 20);
    ch.sendToQueue(q, big);
    await waitForCount(q, 1);
    const viaGet = await get(ch, q, true);
    expect(viaGet.content.equals(big)).toBe(true);
    ch.sendToQueue(q, big);
    const c = await consumer(ch, q, { noAck: true });
    await waitFor(() => c.messages.length === 1);
    expect(c.messages[0].content.equals(big)).toBe(true);
    // and over the raw socket: the server splits it into frames of at most frame_max
    const r = await raw();
    rawPublish(r, 1, '', q, big);
    await waitForCount(q, 0); // the consumer above takes it
    await waitFor(() => c.messages.length === 2);
    expect(c.messages[1].content.equals(big)).toBe(true);
  });

  it('keeps all 14 basic properties unchanged', async () => {
    const c = await raw();
    const q = await queue();
    const props: BasicProperties = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: toFieldTable({ a: 'b', n: 7 }),
      deliveryMode: 2,
      priority: 9,
      correlationId: 'c-1',
      replyTo: 'reply-queue',
      expiration: '3600000',
      messageId: 'id-1',
      timestamp: 1234567890,
      type: 'kind',
      userId: 'guest',
      appId: 'app',
      clusterId: 'cluster',
    };
    rawPublish(c, 1, '', q, 'props', props);
    await waitForCount(q, 1);
    const m = await rawGet(c, 1, q, true);
    expect(m?.properties).toEqual(props);
    expect(m?.body.toString()).toBe('props');
  });

  it('keeps every header field type amqplib can send', async () => {
    const ch = await channel();
    const q = await queue();
    const headers = {
      string: 'hello ✓',
      empty: '',
      yes: true,
      no: false,
      smallInt: -5, // amqplib sends b
      shortInt: 1000, // s
      int: 100000, // I
      longInt: 2 ** 40, // l
      negative: -(2 ** 40),
      double: 1.5, // d
      int8: { '!': 'int8', value: -128 },
      uint8: { '!': 'uint8', value: 255 },
      int16: { '!': 'int16', value: -32768 },
      uint16: { '!': 'uint16', value: 65535 },
      int32: { '!': 'int32', value: -2147483648 },
      uint32: { '!': 'uint32', value: 4294967295 },
      int64: { '!': 'int64', value: Number.MAX_SAFE_INTEGER },
      float: { '!': 'float', value: 0.25 },
      float64: { '!': 'float64', value: -3.75 },
      timestamp: { '!': 'timestamp', value: 1700000000 },
      decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
      void: null,
      bytes: Buffer.from([0, 1, 2, 254, 255]),
      array: ['a', 1, true, null, [2, 'b'], { k: 'v' }, { '!': 'timestamp', value: 5 }],
      emptyArray: [],
      table: { nested: { deeper: 'yes' }, n: 7 },
      emptyTable: {},
    };
    ch.sendToQueue(q, Buffer.from('h'), { headers });
    await waitForCount(q, 1);
    const m = await get(ch, q, true);
    // amqplib decodes every integer and float type as a plain number; timestamps and decimals stay tagged
    expect(m.properties.headers).toEqual({
      ...headers,
      int8: -128,
      uint8: 255,
      int16: -32768,
      uint16: 65535,
      int32: -2147483648,
      uint32: 4294967295,
      int64: Number.MAX_SAFE_INTEGER,
      float: 0.25,
      float64: -3.75,
    });
  });
});

describe('basic.consume', () => {
  it('generates consumer tags amq.ctag-<22 base64url characters>', async () => {
    const ch = await channel();
    const q = await queue();
    const tags = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { consumerTag } = await ch.consume(q, () => {});
      expect(consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
      tags.add(consumerTag);
    }
    expect(tags.size).toBe(5);
    expect((await counts(q)).consumerCount).toBe(5);
  });

  it('closes the connection with 530 on a consumer tag reused on the same channel', async () => {
    const q = await queue();
    const c = await raw([1, 2]);
    c.method(1, BASIC_CONSUME, { queue: q, consumerTag: 'dup' });
    expect(await c.expectMethod(BASIC_CONSUME_OK, 1)).toEqual({ consumerTag: 'dup' });
    // the same tag on another channel is fine
    c.method(2, BASIC_CONSUME, { queue: q, consumerTag: 'dup' });
    expect(await c.expectMethod(BASIC_CONSUME_OK, 2)).toEqual({ consumerTag: 'dup' });
    c.method(1, BASIC_CONSUME, { queue: q, consumerTag: 'dup' });
    await expectRawConnectionClose(c, 530, "NOT_ALLOWED - attempt to reuse consumer tag 'dup'", 60, 20);
  });

  it('closes the channel with 404 when the queue does not exist', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q = unique('no-such-queue');
    const rejected = await expectChannelError(conn, ch, () => ch.consume(q, () => {}), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`, 60, 20);
    expect((rejected as Error).message).toBe(`Operation failed: BasicConsume; 404 (NOT-FOUND) with message "NOT_FOUND - no queue '${q}' in vhost '/'"`);
  });

  it('consumes from the last queue the channel declared when the queue name is empty', async () => {
    const ch = await channel();
    const first = await queue(ch);
    const last = await queue(ch);
    const c = await consumer(ch, '', { noAck: true });
    expect((await counts(last)).consumerCount).toBe(1);
    expect((await counts(first)).consumerCount).toBe(0);
    ch.sendToQueue(last, Buffer.from('to last'));
    await waitFor(() => c.messages.length === 1);
    expect(c.messages[0].fields.routingKey).toBe(last);
    // basic.get with an empty name reads the same queue
    ch.sendToQueue(first, Buffer.from('to first'));
    await waitForCount(first, 1);
    await ch.cancel(c.consumerTag);
    ch.sendToQueue(last, Buffer.from('again'));
    await waitForCount(last, 1);
    expect(body(await ch.get(''))).toBe('again');
  });

  it('closes the channel with 404 on an empty queue name when the channel declared none', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    await queue(); // declared on another channel: does not count
    await expectChannelError(conn, ch, () => ch.consume('', () => {}), 404, 'NOT_FOUND - no previously declared queue', 60, 20);
  });

  it('refuses an exclusive consumer on a queue that has consumers with 403', async () => {
    const conn = await connection();
    const q = await queue();
    const ch1 = await channel(conn);
    await ch1.consume(q, () => {});
    const ch2 = await channel(conn);
    await expectChannelError(
      conn,
      ch2,
      () => ch2.consume(q, () => {}, { exclusive: true }),
      403,
      `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      60,
      20,
    );
    // the same channel is refused too
    await expectChannelError(
      conn,
      ch1,
      () => ch1.consume(q, () => {}, { exclusive: true }),
      403,
      `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`,
      60,
      20,
    );
  });

  it('refuses any consumer on a queue that has an exclusive consumer with 403', async () => {
    const conn = await connection();
    const q = await queue();
    const ch1 = await channel(conn);
    const ex = await consumer(ch1, q, { exclusive: true });
    const ch2 = await channel(conn);
    await expectChannelError(conn, ch2, () => ch2.consume(q, () => {}), 403, `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`, 60, 20);
    // the exclusive consumer still gets everything, and once it is cancelled others may consume
    const ch3 = await channel(conn);
    ch3.sendToQueue(q, Buffer.from('only'));
    await waitFor(() => ex.messages.length === 1);
    await ch1.cancel(ex.consumerTag);
    await ch3.consume(q, () => {});
    expect((await counts(q)).consumerCount).toBe(1);
  });

  it('dispatches round-robin among consumers on the same channel', async () => {
    const ch = await channel();
    const q = await queue();
    const order: string[] = [];
    const got = new Map<string, string[]>();
    for (let i = 0; i < 2; i++) {
      const { consumerTag } = await ch.consume(
        q,
        (m) => {
          if (!m) return;
          order.push(m.fields.consumerTag);
          got.get(m.fields.consumerTag)!.push(m.content.toString());
        },
        { noAck: true },
      );
      got.set(consumerTag, []);
    }
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => order.length === 6);
    for (let i = 1; i < 6; i++) expect(order[i]).not.toBe(order[i - 1]);
    expect([...got.values()].map((b) => b.join()).sort()).toEqual(['m0,m2,m4', 'm1,m3,m5']);
  });

  it('dispatches round-robin among consumers on different channels', async () => {
    const conn = await connection();
    const q = await queue();
    const a = await consumer(await channel(conn), q, { noAck: true });
    const b = await consumer(await channel(conn), q, { noAck: true });
    const pub = await channel(conn);
    for (let i = 0; i < 6; i++) pub.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => a.messages.length + b.messages.length === 6);
    expect([a.bodies().join(), b.bodies().join()].sort()).toEqual(['m0,m2,m4', 'm1,m3,m5']);
  });

  it('delivers in FIFO order', async () => {
    const ch = await channel();
    const q = await queue();
    const n = 200;
    for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await waitForCount(q, n);
    const c = await consumer(ch, q);
    await waitFor(() => c.messages.length === n);
    expect(c.bodies()).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    expect(c.messages.map((m) => m.fields.deliveryTag)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(c.messages.every((m) => !m.fields.redelivered && m.fields.exchange === '' && m.fields.routingKey === q)).toBe(true);
    ch.ackAll();
  });

  it('lets a no-ack consumer take messages for good', async () => {
    const ch = await channel();
    const q = await queueWith(3);
    const c = await consumer(ch, q, { noAck: true });
    await waitFor(() => c.messages.length === 3);
    expect(c.bodies()).toEqual(['m0', 'm1', 'm2']);
    await ch.close();
    await settle();
    expect(await counts(q)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('gives messages to the highest x-priority consumer while it has credit', async () => {
    const conn = await connection();
    const q = await queue();
    const highCh = await channel(conn);
    await highCh.prefetch(2);
    const high = await consumer(highCh, q, { priority: 10 });
    const low = await consumer(await channel(conn), q, { priority: 1, noAck: true });
    const pub = await channel(conn);
    for (let i = 0; i < 6; i++) pub.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => high.messages.length + low.messages.length === 6);
    expect(high.bodies()).toEqual(['m0', 'm1']);
    expect(low.bodies()).toEqual(['m2', 'm3', 'm4', 'm5']);
    // with credit again, the high-priority consumer is first once more
    highCh.ackAll();
    await sleep(100);
    for (let i = 6; i < 9; i++) pub.sendToQueue(q, Buffer.from(`m${i}`));
    await waitFor(() => high.messages.length + low.messages.length === 9);
    expect(high.bodies()).toEqual(['m0', 'm1', 'm6', 'm7']);
    expect(low.bodies()).toEqual(['m2', 'm3', 'm4', 'm5', 'm8']);
  });
});

describe('basic.cancel', () => {
  it('answers cancel-ok with the tag and stops deliveries', async () => {
    const ch = await channel();
    const q = await queue();
    const c = await consumer(ch, q, { noAck: true });
    expect(await ch.cancel(c.consumerTag)).toEqual({ consumerTag: c.consumerTag });
    ch.sendToQueue(q, Buffer.from('after'));
    await waitForCount(q, 1);
    expect(c.messages).toEqual([]);
    expect((await counts(q)).consumerCount).toBe(0);
  });

  it('answers cancel-ok for an unknown consumer tag', async () => {
    const ch = await channel();
    expect(await ch.cancel('no-such-consumer')).toEqual({ consumerTag: 'no-such-consumer' });
    await ch.prefetch(1); // the channel is still open
  });

  it('leaves undelivered messages in the queue, and delivered ones unacked', async () => {
    const ch = await channel();
    const q = await queueWith(3);
    await ch.prefetch(1);
    const c = await consumer(ch, q);
    await waitFor(() => c.messages.length === 1);
    await ch.cancel(c.consumerTag);
    expect(await counts(q)).toEqual({ messageCount: 2, consumerCount: 0 });
    // m0 is still ours to ack
    ch.ack(c.messages[0]);
    expect(body(await ch.get(q, { noAck: true }))).toBe('m1');
    expect(body(await ch.get(q, { noAck: true }))).toBe('m2');
    await ch.close();
    expect((await counts(q)).messageCount).toBe(0);
  });
});

describe('basic.get', () => {
  it('answers get-ok with the count of messages left, then get-empty', async () => {
    const ch = await channel();
    const q = await queueWith(3);
    for (let i = 0; i < 3; i++) {
      const m = await get(ch, q, true);
      expect(m.fields).toEqual({ deliveryTag: i + 1, redelivered: false, exchange: '', routingKey: q, messageCount: 2 - i });
      expect(m.content.toString()).toBe(`m${i}`);
    }
    expect(await ch.get(q)).toBe(false);
  });

  it('closes the channel with 404 when the queue does not exist', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q = unique('no-such-queue');
    await expectChannelError(conn, ch, () => ch.get(q), 404, `NOT_FOUND - no queue '${q}' in vhost '/'`, 60, 70);
  });

  it('with no-ack the message is gone; without, it returns when the channel closes', async () => {
    const q = await queueWith(2);
    const ch = await channel();
    expect(body(await get(ch, q, true))).toBe('m0');
    expect(body(await get(ch, q, false))).toBe('m1');
    expect((await counts(q)).messageCount).toBe(0);
    await ch.close();
    await waitForCount(q, 1);
    const again = await get(await channel(), q, true);
    expect(again.content.toString()).toBe('m1');
    expect(again.fields.redelivered).toBe(true);
  });

  it('numbers deliveries per channel across get and deliver', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q1 = await queueWith(3);
    const q2 = await queueWith(1);
    expect((await get(ch, q1)).fields.deliveryTag).toBe(1);
    const c = await consumer(ch, q2);
    await waitFor(() => c.messages.length === 1);
    expect(c.messages[0].fields.deliveryTag).toBe(2);
    expect((await get(ch, q1, true)).fields.deliveryTag).toBe(3);
    const other = await channel(conn);
    expect((await get(other, q1)).fields.deliveryTag).toBe(1);
  });
});

describe('ack, nack and reject', () => {
  it('acks a single message', async () => {
    const q = await queueWith(2);
    const ch = await channel();
    const m0 = await get(ch, q);
    await get(ch, q);
    ch.ack(m0);
    await ch.close();
    await waitForCount(q, 1);
    expect(body(await (await channel()).get(q, { noAck: true }))).toBe('m1');
  });

  it('acks multiple messages up to a tag', async () => {
    const q = await queueWith(4);
    const ch = await channel();
    const ms = [await get(ch, q), await get(ch, q), await get(ch, q), await get(ch, q)];
    ch.ack(ms[2], true); // m0..m2
    await ch.close();
    await waitForCount(q, 1);
    expect(body(await (await channel()).get(q, { noAck: true }))).toBe('m3');
  });

  it.each([
    ['basic.ack', 80, (ch: Channel, m: Message) => ch.ack(m)],
    ['basic.reject', 90, (ch: Channel, m: Message) => ch.reject(m)],
    ['basic.nack', 120, (ch: Channel, m: Message) => ch.nack(m)],
  ])('closes the channel with 406 on %s of an unknown delivery tag', async (_name, methodId, send) => {
    const conn = await connection();
    const ch = await channel(conn);
    const fake = { fields: { deliveryTag: 1 } } as Message;
    await expectChannelError(conn, ch, () => send(ch, fake), 406, 'PRECONDITION_FAILED - unknown delivery tag 1', 60, methodId);
  });

  it('closes the channel with 406 when a tag is acked twice', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q = await queueWith(2);
    await get(ch, q);
    const m1 = await get(ch, q);
    ch.ack(m1);
    await expectChannelError(conn, ch, () => ch.ack(m1), 406, 'PRECONDITION_FAILED - unknown delivery tag 2', 60, 80);
  });

  it('closes the channel with 406 on an ack of a tag from a no-ack get', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q = await queueWith(1);
    const m = await get(ch, q, true);
    await expectChannelError(conn, ch, () => ch.ack(m), 406, 'PRECONDITION_FAILED - unknown delivery tag 1', 60, 80);
  });

  it('acks every outstanding message on tag 0 with multiple=true', async () => {
    const q = await queueWith(3);
    const ch = await channel();
    for (let i = 0; i < 3; i++) await get(ch, q);
    ch.ackAll();
    await ch.close();
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
  });

  it.each([
    ['above every outstanding one', 9],
    ['already acked, though lower ones are outstanding', 2],
  ])('closes the channel with 406 on a multiple ack of a tag %s, acking nothing', async (_case, tag) => {
    const q = await queueWith(3);
    const conn = await connection();
    const ch = await channel(conn);
    const ms = [await get(ch, q), await get(ch, q), await get(ch, q)];
    ch.ack(ms[1]);
    await expectChannelError(conn, ch, () => ch.ack({ fields: { deliveryTag: tag } } as Message, true), 406, `PRECONDITION_FAILED - unknown delivery tag ${tag}`, 60, 80);
    // the channel's close requeued m0 and m2: the multiple ack took neither
    await waitForCount(q, 2);
    const left = await channel();
    expect([body(await left.get(q, { noAck: true })), body(await left.get(q, { noAck: true }))]).toEqual(['m0', 'm2']);
  });

  it('closes the channel with 406 on tag 0 without multiple', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q = await queueWith(1);
    await get(ch, q);
    await expectChannelError(conn, ch, () => ch.ack({ fields: { deliveryTag: 0 } } as Message), 406, 'PRECONDITION_FAILED - unknown delivery tag 0', 60, 80);
  });

  it('puts a nacked message back at its original position with redelivered=true', async () => {
    const q = await queueWith(3);
    const ch = await channel();
    const m0 = await get(ch, q);
    const m1 = await get(ch, q);
    ch.nack(m1, false, true);
    ch.nack(m0, false, true);
    const again = [await get(ch, q, true), await get(ch, q, true), await get(ch, q, true)];
    expect(again.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
      ['m2', false],
    ]);
    expect(again.map((m) => m.fields.deliveryTag)).toEqual([3, 4, 5]);
  });

  it('drops a message nacked with requeue=false', async () => {
    const q = await queueWith(2);
    const ch = await channel();
    ch.nack(await get(ch, q), false, false);
    expect(body(await get(ch, q, true))).toBe('m1');
    await ch.close();
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('puts a rejected message back with requeue=true and drops it with requeue=false', async () => {
    const q = await queueWith(2);
    const ch = await channel();
    ch.reject(await get(ch, q), true);
    const again = await get(ch, q);
    expect([again.content.toString(), again.fields.redelivered]).toEqual(['m0', true]);
    ch.reject(again, false);
    expect(body(await get(ch, q, true))).toBe('m1');
    expect(await ch.get(q)).toBe(false);
    await ch.close();
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('nacks multiple messages up to a tag', async () => {
    const q = await queueWith(3);
    const ch = await channel();
    await get(ch, q);
    const m1 = await get(ch, q);
    await get(ch, q); // m2
    ch.nack(m1, true, true); // m0 and m1 back; m2 stays unacked
    const again = [await get(ch, q, true), await get(ch, q, true)];
    expect(again.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
    ]);
    expect(await ch.get(q)).toBe(false);
    ch.nackAll(false); // m2, dropped
    await ch.close();
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
  });
});

describe('redelivery', () => {
  it('requeues unacked messages at the head, in order, with redelivered=true when the channel closes', async () => {
    const q = await queueWith(4);
    const conn = await connection();
    const ch = await channel(conn);
    await ch.prefetch(2);
    const c = await consumer(ch, q);
    await waitFor(() => c.messages.length === 2);
    expect(c.bodies()).toEqual(['m0', 'm1']);
    await ch.close();
    await waitForCount(q, 4);
    const other = await channel(conn);
    const all = [];
    for (let i = 0; i < 4; i++) all.push(await get(other, q, true));
    expect(all.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
      ['m2', false],
      ['m3', false],
    ]);
  });

  it('requeues unacked messages at the head, in order, with redelivered=true when the connection closes', async () => {
    const q = await queueWith(3);
    const conn = await connection();
    const ch = await channel(conn);
    await get(ch, q);
    await get(ch, q);
    await conn.close();
    await waitForCount(q, 3);
    const other = await channel();
    const c = await consumer(other, q, { noAck: true });
    await waitFor(() => c.messages.length === 3);
    expect(c.messages.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
      ['m2', false],
    ]);
  });
});

describe('basic.recover', () => {
  it('redelivers unacked messages with redelivered=true on recover requeue=true', async () => {
    const ch = await channel();
    const q = await queueWith(2);
    const c = await consumer(ch, q);
    await waitFor(() => c.messages.length === 2);
    expect(await ch.recover()).toEqual({});
    await waitFor(() => c.messages.length === 4);
    expect(c.messages.map((m) => [m.content.toString(), m.fields.deliveryTag, m.fields.redelivered])).toEqual([
      ['m0', 1, false],
      ['m1', 2, false],
      ['m0', 3, true],
      ['m1', 4, true],
    ]);
    // the old tags are gone
    ch.ack(c.messages[3], true);
    await ch.close();
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('puts messages taken with basic.get back in the queue on recover', async () => {
    const ch = await channel();
    const q = await queueWith(2);
    await get(ch, q);
    await ch.recover();
    await waitForCount(q, 2);
    const m = await get(ch, q, true);
    expect([m.content.toString(), m.fields.redelivered, m.fields.deliveryTag]).toEqual(['m0', true, 2]);
  });

  it('closes the connection with 540 on recover requeue=false', async () => {
    const c = await raw();
    c.method(1, BASIC_RECOVER, { requeue: false });
    await expectRawConnectionClose(c, 540, 'NOT_IMPLEMENTED - requeue=false', 60, 110);
  });

  it('redelivers on recover-async without answering', async () => {
    const q = await queueWith(1);
    const c = await raw();
    c.method(1, BASIC_CONSUME, { queue: q, consumerTag: 'ra' });
    await c.expectMethod(BASIC_CONSUME_OK, 1);
    expect(await c.expectMethod(BASIC_DELIVER, 1)).toEqual({ consumerTag: 'ra', deliveryTag: 1, redelivered: false, exchange: '', routingKey: q });
    await rawContent(c, 1);
    c.method(1, BASIC_RECOVER_ASYNC, { requeue: true });
    expect(await c.expectMethod(BASIC_DELIVER, 1)).toEqual({ consumerTag: 'ra', deliveryTag: 2, redelivered: true, exchange: '', routingKey: q });
    expect((await rawContent(c, 1)).body.toString()).toBe('m0');
    await rawSync(c, 1); // no recover-ok came before qos-ok
    c.method(1, BASIC_ACK, { deliveryTag: 2, multiple: false });
    await rawSync(c, 1);
  });

  it('closes the connection with 540 on recover-async requeue=false', async () => {
    const c = await raw();
    c.method(1, BASIC_RECOVER_ASYNC, { requeue: false });
    await expectRawConnectionClose(c, 540, 'NOT_IMPLEMENTED - requeue=false', 60, 100);
  });
});

describe('basic.qos', () => {
  it('limits each consumer to prefetch_count unacked messages (global=false)', async () => {
    const ch = await channel();
    const q1 = await queueWith(5);
    const q2 = await queueWith(5);
    await ch.prefetch(2);
    const a = await consumer(ch, q1);
    const b = await consumer(ch, q2);
    await waitFor(() => a.messages.length === 2 && b.messages.length === 2);
    await settle();
    expect([a.messages.length, b.messages.length]).toEqual([2, 2]);
    ch.ack(a.messages[0]);
    await waitFor(() => a.messages.length === 3);
    await settle();
    expect([a.bodies(), b.bodies()]).toEqual([
      ['m0', 'm1', 'm2'],
      ['m0', 'm1'],
    ]);
  });

  it('shares a global=true prefetch_count among the channel consumers', async () => {
    const ch = await channel();
    const q1 = await queueWith(5);
    const q2 = await queueWith(5);
    await ch.prefetch(3, true);
    const a = await consumer(ch, q1);
    const b = await consumer(ch, q2);
    await waitFor(() => a.messages.length + b.messages.length === 3);
    await settle();
    expect(a.messages.length + b.messages.length).toBe(3);
    ch.ack((a.messages.length ? a : b).messages[0]);
    await waitFor(() => a.messages.length + b.messages.length === 4);
    await settle();
    expect(a.messages.length + b.messages.length).toBe(4);
  });

  it('applies both a per-consumer and a channel-wide limit', async () => {
    const ch = await channel();
    const q1 = await queueWith(5);
    const q2 = await queueWith(5);
    await ch.prefetch(2, false);
    await ch.prefetch(3, true);
    const a = await consumer(ch, q1);
    await waitFor(() => a.messages.length === 2);
    const b = await consumer(ch, q2);
    await waitFor(() => b.messages.length === 1);
    await settle();
    expect([a.messages.length, b.messages.length]).toEqual([2, 1]);
  });

  it('closes the connection with 540 on prefetch_size != 0', async () => {
    const c = await raw();
    c.method(1, BASIC_QOS, { prefetchSize: 1000, prefetchCount: 0, global: false });
    await expectRawConnectionClose(c, 540, 'NOT_IMPLEMENTED - prefetch_size!=0 (1000)', 60, 10);
  });
});

describe('publisher confirms', () => {
  it('confirms every publish exactly once with increasing delivery tags', async () => {
    const conn = await connection();
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    const q = await queue();
    const acks: { deliveryTag: number; multiple: boolean }[] = [];
    ch.on('ack', (a: { deliveryTag: number; multiple: boolean }) => acks.push(a));
    const n = 50;
    const callbacks: unknown[] = [];
    for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`), {}, (err) => callbacks.push(err));
    await ch.waitForConfirms();
    expect(callbacks).toEqual(Array(n).fill(null));
    const confirmed: number[] = [];
    for (const a of acks) {
      const last = confirmed.length ? confirmed[confirmed.length - 1] : 0;
      expect(a.deliveryTag).toBeGreaterThan(last);
      if (a.multiple) for (let t = last + 1; t <= a.deliveryTag; t++) confirmed.push(t);
      else confirmed.push(a.deliveryTag);
    }
    expect(confirmed).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    await waitForCount(q, n);
  });

  it('sends basic.return before the basic.ack of an unroutable mandatory message', async () => {
    const conn = await connection();
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    const events: string[] = [];
    ch.on('return', (m: Message) => events.push(`return ${m.content.toString()}`));
    ch.on('ack', (a: { deliveryTag: number }) => events.push(`ack ${a.deliveryTag}`));
    ch.on('nack', () => events.push('nack'));
    ch.publish('amq.direct', unique('unroutable'), Buffer.from('lost'), { mandatory: true });
    await ch.waitForConfirms();
    expect(events).toEqual(['return lost', 'ack 1']);
  });

  it('closes the channel with 406 on tx.select after confirm.select', async () => {
    const c = await raw([1, 2]);
    c.method(1, CONFIRM_SELECT, { nowait: false });
    await c.expectMethod(CONFIRM_SELECT_OK, 1);
    c.method(1, TX_SELECT, {});
    await expectRawChannelClose(c, 1, 406, 'PRECONDITION_FAILED - cannot switch from confirm to tx mode', 90, 10);
  });

  it('closes the channel with 406 on confirm.select after tx.select', async () => {
    const c = await raw([1, 2]);
    c.method(1, TX_SELECT, {});
    await c.expectMethod(TX_SELECT_OK, 1);
    c.method(1, CONFIRM_SELECT, { nowait: false });
    await expectRawChannelClose(c, 1, 406, 'PRECONDITION_FAILED - cannot switch from tx to confirm mode', 85, 10);
  });

  it('answers confirm.select twice', async () => {
    const c = await raw();
    c.method(1, CONFIRM_SELECT, { nowait: false });
    await c.expectMethod(CONFIRM_SELECT_OK, 1);
    c.method(1, CONFIRM_SELECT, { nowait: false });
    await c.expectMethod(CONFIRM_SELECT_OK, 1);
  });
});

describe('transactions', () => {
  it('keeps publishes invisible until tx.commit', async () => {
    const q = await queue();
    const c = await raw();
    c.method(1, TX_SELECT, {});
    await c.expectMethod(TX_SELECT_OK, 1);
    rawPublish(c, 1, '', q, 'a');
    rawPublish(c, 1, '', q, 'b');
    await rawSync(c, 1);
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
    c.method(1, TX_COMMIT, {});
    await c.expectMethod(TX_COMMIT_OK, 1);
    expect((await counts(q)).messageCount).toBe(2);
    // still transactional after the commit
    rawPublish(c, 1, '', q, 'c');
    await rawSync(c, 1);
    expect((await counts(q)).messageCount).toBe(2);
    c.method(1, TX_COMMIT, {});
    await c.expectMethod(TX_COMMIT_OK, 1);
    expect((await counts(q)).messageCount).toBe(3);
  });

  it('discards publishes on tx.rollback', async () => {
    const q = await queue();
    const c = await raw();
    c.method(1, TX_SELECT, {});
    await c.expectMethod(TX_SELECT_OK, 1);
    rawPublish(c, 1, '', q, 'gone');
    c.method(1, TX_ROLLBACK, {});
    await c.expectMethod(TX_ROLLBACK_OK, 1);
    c.method(1, TX_COMMIT, {});
    await c.expectMethod(TX_COMMIT_OK, 1);
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
    rawPublish(c, 1, '', q, 'kept');
    c.method(1, TX_COMMIT, {});
    await c.expectMethod(TX_COMMIT_OK, 1);
    expect((await counts(q)).messageCount).toBe(1);
    expect((await rawGet(c, 1, q, true))?.body.toString()).toBe('kept');
  });

  it('applies acks at tx.commit', async () => {
    const q = await queueWith(2);
    const c = await raw();
    expect((await rawGet(c, 1, q))?.deliveryTag).toBe(1);
    expect((await rawGet(c, 1, q))?.deliveryTag).toBe(2);
    c.method(1, TX_SELECT, {});
    await c.expectMethod(TX_SELECT_OK, 1);
    c.method(1, BASIC_ACK, { deliveryTag: 1, multiple: false });
    c.method(1, TX_COMMIT, {});
    await c.expectMethod(TX_COMMIT_OK, 1);
    c.method(1, BASIC_ACK, { deliveryTag: 2, multiple: false }); // never committed
    await rawSync(c, 1);
    c.method(1, CHANNEL_CLOSE, { replyCode: 200, replyText: 'bye' });
    await c.expectMethod(CHANNEL_CLOSE_OK, 1);
    await waitForCount(q, 1);
    const m = await get(await channel(), q, true);
    expect([m.content.toString(), m.fields.redelivered]).toEqual(['m1', true]);
  });

  it('leaves acks undone on tx.rollback', async () => {
    const q = await queueWith(1);
    const c = await raw();
    c.method(1, TX_SELECT, {});
    await c.expectMethod(TX_SELECT_OK, 1);
    expect((await rawGet(c, 1, q))?.deliveryTag).toBe(1);
    c.method(1, BASIC_ACK, { deliveryTag: 1, multiple: false });
    c.method(1, TX_ROLLBACK, {});
    await c.expectMethod(TX_ROLLBACK_OK, 1);
    // still unacked on this channel: not back in the queue, and acking it again is no error
    expect(await rawGet(c, 1, q)).toBeUndefined();
    c.method(1, BASIC_ACK, { deliveryTag: 1, multiple: false });
    c.method(1, TX_COMMIT, {});
    await c.expectMethod(TX_COMMIT_OK, 1);
    c.method(1, CHANNEL_CLOSE, { replyCode: 200, replyText: 'bye' });
    await c.expectMethod(CHANNEL_CLOSE_OK, 1);
    await settle();
    expect((await counts(q)).messageCount).toBe(0);
  });

  it('closes the channel with 406 partial tx completion when a queue refuses a committed message, keeping the rest', async () => {
    const q = unique('warren-basic');
    queues().push(q);
    await (await admin()).assertQueue(q, { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    const c = await raw([1, 2]);
    c.method(1, TX_SELECT, {});
    await c.expectMethod(TX_SELECT_OK, 1);
    rawPublish(c, 1, '', q, 'taken');
    rawPublish(c, 1, '', q, 'refused');
    c.method(1, TX_COMMIT, {});
    await expectRawChannelClose(c, 1, 406, 'PRECONDITION_FAILED - partial tx completion', 90, 20);
    expect((await counts(q)).messageCount).toBe(1);
    expect(body(await get(await channel(), q, true))).toBe('taken');
  });

  it.each([
    ['tx.commit', TX_COMMIT, 20],
    ['tx.rollback', TX_ROLLBACK, 30],
  ] as const)('closes the channel with 406 on %s without tx.select', async (_name, id, methodId) => {
    const c = await raw([1, 2]);
    c.method(1, id, {});
    await expectRawChannelClose(c, 1, 406, 'PRECONDITION_FAILED - channel is not transactional', 90, methodId);
  });
});

describe('direct reply-to', () => {
  it('rewrites reply_to and routes the reply to the consumer on amq.rabbitmq.reply-to', async () => {
    const serverQ = await queue();
    const client = await channel();
    const replies: ConsumeMessage[] = [];
    const { consumerTag } = await client.consume('amq.rabbitmq.reply-to', (m) => m && replies.push(m), { noAck: true });
    expect(consumerTag).toMatch(/^amq\.ctag-[A-Za-z0-9_-]{22}$/);
    client.sendToQueue(serverQ, Buffer.from('request'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' });
    await waitForCount(serverQ, 1);
    const server = await channel();
    const req = await get(server, serverQ, true);
    const replyTo: string = req.properties.replyTo;
    expect(replyTo).toMatch(/^amq\.rabbitmq\.reply-to\.\S+$/);
    expect(req.properties.correlationId).toBe('c1');
    server.sendToQueue(replyTo, Buffer.from('response'), { correlationId: 'c1' });
    await waitFor(() => replies.length === 1);
    expect(replies[0].content.toString()).toBe('response');
    expect(replies[0].fields).toEqual({ consumerTag, deliveryTag: 1, redelivered: false, exchange: '', routingKey: replyTo });
    expect(replies[0].properties.correlationId).toBe('c1');
  });

  it('closes the channel with 406 on a reply-to consumer that acks', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    await expectChannelError(
      conn,
      ch,
      () => ch.consume('amq.rabbitmq.reply-to', () => {}),
      406,
      'PRECONDITION_FAILED - reply consumer cannot acknowledge',
      60,
      20,
    );
  });

  it('closes the channel with 406 on a second reply-to consumer on the channel', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    await ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    await expectChannelError(
      conn,
      ch,
      () => ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true }),
      406,
      'PRECONDITION_FAILED - reply consumer already set',
      60,
      20,
    );
  });

  it('returns a mandatory message to an unknown reply-to name as unroutable', async () => {
    const ch = await channel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    ch.sendToQueue('amq.rabbitmq.reply-to.bogus', Buffer.from('x'), { mandatory: true });
    ch.sendToQueue('amq.rabbitmq.reply-to', Buffer.from('y'), { mandatory: true });
    await waitFor(() => returned.length === 2);
    expect(returned.map((m) => m.fields)).toEqual([
      { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'amq.rabbitmq.reply-to.bogus' },
      { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'amq.rabbitmq.reply-to' },
    ]);
  });

  it('closes the channel with 406 on a publish with reply_to amq.rabbitmq.reply-to and no reply consumer', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const q = await queue();
    await expectChannelError(
      conn,
      ch,
      () => ch.sendToQueue(q, Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' }),
      406,
      'PRECONDITION_FAILED - fast reply consumer does not exist',
      60,
      40,
    );
    expect((await counts(q)).messageCount).toBe(0);
  });
});

describe('queue.declare-ok counts', () => {
  it('counts ready messages (not unacked ones) and consumers', async () => {
    const conn = await connection();
    const q = await queueWith(4);
    expect(await counts(q)).toEqual({ messageCount: 4, consumerCount: 0 });
    const consuming = await channel(conn);
    await consuming.prefetch(1);
    const c = await consumer(consuming, q);
    await waitFor(() => c.messages.length === 1);
    expect(await counts(q)).toEqual({ messageCount: 3, consumerCount: 1 });
    const getter = await channel(conn);
    await get(getter, q);
    expect(await counts(q)).toEqual({ messageCount: 2, consumerCount: 1 });
    const declared = await getter.assertQueue(q, { durable: false, autoDelete: false });
    expect(declared).toEqual({ queue: q, messageCount: 2, consumerCount: 1 });
    await consuming.close();
    await waitForCount(q, 3);
    expect(await counts(q)).toEqual({ messageCount: 3, consumerCount: 0 });
  });
});
