// Stream queues (x-queue-type stream) as AMQP 0-9-1 clients use them, as RabbitMQ 3.10 behaves:
// declaration rules, consuming from an offset with manual acks and a prefetch, and what streams refuse.
import type { Channel, ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scenarioSuite } from '../support/session.js';
import { expectChannelError, expectConnectionError, sleep, waitFor } from '../support/scenario.js';

const suite = scenarioSuite();

const STREAM = { 'x-queue-type': 'stream' };

function streamName(): string {
  const q = `warren-stream-${randomBytes(5).toString('hex')}`;
  suite.session.queues.push(q);
  return q;
}

const inVhost = (q: string) => `queue '${q}' in vhost '/'`;

/** A stream holding `n` messages m0…, each confirmed before the next (one chunk each). */
async function filledStream(n: number, args: Record<string, unknown> = {}): Promise<string> {
  const q = streamName();
  const ch = await suite.session.confirmChannel();
  await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, ...args } });
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
  }
  return q;
}

/** A consumer with a prefetch, recording what it gets (unacked unless asked). */
async function streamConsumer(q: string, offset?: unknown, prefetch = 100, ch?: Channel) {
  const channel = ch ?? (await suite.session.channel());
  await channel.prefetch(prefetch);
  const got: ConsumeMessage[] = [];
  const state = { cancelled: false };
  const args = offset === undefined ? {} : { 'x-stream-offset': offset };
  const { consumerTag } = await channel.consume(q, (m) => (m ? got.push(m) : (state.cancelled = true)), { arguments: args });
  return { ch: channel, consumerTag, got, state, offsets: () => got.map((m) => Number(m.properties.headers!['x-stream-offset'])) };
}

describe('stream declaration', () => {
  it.each([
    ['non-durable', { durable: false }, "invalid property 'non-durable'"],
    ['exclusive', { durable: true, exclusive: true }, "invalid property 'exclusive-owner'"],
    ['auto-delete', { durable: true, autoDelete: true }, "invalid property 'auto-delete'"],
    ['auto-delete before exclusive and non-durable', { durable: false, exclusive: true, autoDelete: true }, "invalid property 'auto-delete'"],
  ])('refuses a %s stream', async (_name, options, reason) => {
    const { conn, ch } = await suite.session.open();
    const q = streamName();
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { ...options, arguments: STREAM }), 406, `PRECONDITION_FAILED - ${reason} for ${inVhost(q)}`, 50, 10);
  });

  it('refuses a server-named stream', async () => {
    const { conn, ch } = await suite.session.open();
    await expectChannelError(conn, ch, () => ch.assertQueue('', { durable: true, arguments: STREAM }), 406, 'PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_stream_queue', 50, 10);
  });

  it.each([
    ['x-max-priority', 10], ['x-overflow', 'drop-head'], ['x-dead-letter-exchange', 'dlx'], ['x-dead-letter-routing-key', 'k'], ['x-message-ttl', 1000],
    ['x-expires', 100000], ['x-single-active-consumer', true], ['x-queue-mode', 'lazy'], ['x-delivery-limit', 5], ['x-max-length', 10],
  ])('refuses the argument %s', async (key, value) => {
    const { conn, ch } = await suite.session.open();
    const q = streamName();
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, [key]: value } }), 406,
      `PRECONDITION_FAILED - invalid arg '${key}' for ${inVhost(q)} of queue type rabbit_stream_queue`, 50, 10);
  });

  it('checks refused arguments before the declaration properties', async () => {
    const { conn, ch } = await suite.session.open();
    const q = streamName();
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: true, exclusive: true, arguments: { ...STREAM, 'x-max-priority': 1 } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-max-priority' for ${inVhost(q)} of queue type rabbit_stream_queue`, 50, 10);
  });

  it.each(['1Y', '7D', '1h', '30m', '10s', '1M', '01h'])('accepts x-max-age %s', async (age) => {
    const ch = await suite.session.channel();
    const q = streamName();
    await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': age } });
  });

  it.each([
    ['0s', 'invalid_max_age'], ['1d', 'invalid_max_age'], ['1H', 'invalid_max_age'], ['1.5h', 'invalid_max_age'], ['10', 'invalid_max_age'],
    ['1hh', 'invalid_max_age'], [10, '{unacceptable_type,byte}'], [true, '{unacceptable_type,bool}'],
  ])('refuses x-max-age %s', async (age, reason) => {
    const { conn, ch } = await suite.session.open();
    const q = streamName();
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': age } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-max-age' for ${inVhost(q)}: ${reason}`, 50, 10);
  });

  it('closes the connection with a bare INTERNAL_ERROR for an x-max-age without digits, as RabbitMQ crashes', async () => {
    const { conn, ch } = await suite.session.open();
    await expectConnectionError(conn, () => ch.assertQueue(streamName(), { durable: true, arguments: { ...STREAM, 'x-max-age': 'abc' } }), 541, 'INTERNAL_ERROR');
  });

  it.each([
    ['x-stream-max-segment-size-bytes', '500', '"expected integer, got longstr"'],
    ['x-stream-max-segment-size-bytes', -1, '{value_negative,-1}'],
    ['x-initial-cluster-size', 0, '{value_zero,0}'],
    ['x-queue-leader-locator', 'bogus', 'invalid_queue_locator_arg'],
    ['x-max-length-bytes', -1, '{value_negative,-1}'],
  ])('refuses %s %s', async (key, value, reason) => {
    const { conn, ch } = await suite.session.open();
    const q = streamName();
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, [key]: value } }), 406,
      `PRECONDITION_FAILED - invalid arg '${key}' for ${inVhost(q)}: ${reason}`, 50, 10);
  });

  it('refuses a segment size above 3000000000', async () => {
    const { conn, ch } = await suite.session.open();
    await expectChannelError(conn, ch, () => ch.assertQueue(streamName(), { durable: true, arguments: { ...STREAM, 'x-stream-max-segment-size-bytes': 3000000001 } }), 406,
      'PRECONDITION_FAILED - Exceeded max value for x-stream-max-segment-size-bytes', 50, 10);
  });

  it('compares x-max-age and x-queue-type on redeclaration', async () => {
    const { conn, ch } = await suite.session.open();
    const q = streamName();
    await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '1D' } });
    await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '1D' } });
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '2D' } }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'x-max-age' for ${inVhost(q)}: received '2D' but current is '1D'`, 50, 10);
    const ch2 = await suite.session.channel(conn);
    await expectChannelError(conn, ch2, () => ch2.assertQueue(q, { durable: true, arguments: { 'x-max-age': '1D' } }), 406,
      `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for ${inVhost(q)}: received none but current is the value 'stream' of type 'longstr'`, 50, 10);
  });
});

describe('what streams refuse', () => {
  it('basic.get closes the connection with 540', async () => {
    const q = await filledStream(1);
    const { conn, ch } = await suite.session.open();
    await expectConnectionError(conn, () => ch.get(q), 540, `NOT_IMPLEMENTED - basic.get not supported by stream queues ${inVhost(q)}`);
  });

  it('queue.purge closes the connection with 540', async () => {
    const q = await filledStream(1);
    const { conn, ch } = await suite.session.open();
    await expectConnectionError(conn, () => ch.purgeQueue(q), 540, `NOT_IMPLEMENTED - queue.purge not supported by stream queues ${inVhost(q)}`);
  });

  it('a consumer needs a per-consumer prefetch', async () => {
    const q = await filledStream(1);
    const { conn, ch } = await suite.session.open();
    await expectChannelError(conn, ch, () => ch.consume(q, () => {}), 406, `PRECONDITION_FAILED - consumer prefetch count is not set for '${inVhost(q)}'`, 60, 20);
    const ch2 = await suite.session.channel(conn);
    await ch2.prefetch(10, true);
    await expectChannelError(conn, ch2, () => ch2.consume(q, () => {}), 406, `PRECONDITION_FAILED - consumer prefetch count is not set for '${inVhost(q)}'`, 60, 20);
  });

  it('refuses automatic acknowledgement, and a channel-wide prefetch', async () => {
    const q = await filledStream(1);
    let { conn, ch } = await suite.session.open();
    await ch.prefetch(10);
    await expectConnectionError(conn, () => ch.consume(q, () => {}, { noAck: true }), 540, `NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues ${inVhost(q)}`);
    ({ conn, ch } = await suite.session.open());
    await ch.prefetch(10);
    await ch.prefetch(2, true);
    await expectConnectionError(conn, () => ch.consume(q, () => {}), 540, `NOT_IMPLEMENTED - ${inVhost(q)} does not support global qos`);
  });

  it('a per-consumer prefetch lifts an earlier channel-wide one', async () => {
    const q = await filledStream(2);
    const ch = await suite.session.channel();
    await ch.prefetch(10, true);
    const c = await streamConsumer(q, 'first', 2, ch);
    await waitFor(() => c.got.length === 2);
  });

  it.each([
    ['x-priority', 5],
    ['x-cancel-on-ha-failover', true],
  ])('refuses the consumer argument %s', async (key, value) => {
    const q = await filledStream(1);
    const { conn, ch } = await suite.session.open();
    await ch.prefetch(10);
    await expectChannelError(conn, ch, () => ch.consume(q, () => {}, { arguments: { [key]: value } }), 406,
      `PRECONDITION_FAILED - invalid arg '${key}' for ${inVhost(q)} of queue type rabbit_stream_queue`, 60, 20);
  });

  it.each(['10', '1x', '0s'])('refuses x-stream-offset %s', async (offset) => {
    const q = await filledStream(1);
    const { conn, ch } = await suite.session.open();
    await ch.prefetch(10);
    await expectChannelError(conn, ch, () => ch.consume(q, () => {}, { arguments: { 'x-stream-offset': offset } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for ${inVhost(q)}: {invalid_stream_offset_arg,{longstr,<<"${offset}">>}}`, 60, 20);
  });

  it.each(['bogus', 'First', 1.5, true])('closes the connection with INTERNAL_ERROR for x-stream-offset %s', async (offset) => {
    const q = await filledStream(1);
    const { conn, ch } = await suite.session.open();
    await ch.prefetch(10);
    await expectConnectionError(conn, () => ch.consume(q, () => {}, { arguments: { 'x-stream-offset': offset } }), 541, 'INTERNAL_ERROR');
  });

  it('refuses x-stream-offset on a classic queue', async () => {
    const { conn, ch } = await suite.session.open();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await expectChannelError(conn, ch, () => ch.consume(queue, () => {}, { arguments: { 'x-stream-offset': 'first' } }), 406,
      `PRECONDITION_FAILED - invalid arg 'x-stream-offset' for ${inVhost(queue)} of queue type rabbit_classic_queue`, 60, 20);
  });

  it('refuses nack and reject of stream deliveries with 540, and an unknown tag with 406', async () => {
    const q = await filledStream(2);
    let c = await streamConsumer(q, 'first');
    await waitFor(() => c.got.length === 2);
    const conn = suite.session.conns[suite.session.conns.length - 1];
    // a nack has no reply: the declaration after it fails with the connection
    await expectConnectionError(conn, () => (c.ch.nack(c.got[0], false, true), c.ch.checkQueue(q)), 540, `NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues ${inVhost(q)}`);
    c = await streamConsumer(q, 'first');
    await waitFor(() => c.got.length === 2);
    await expectConnectionError(suite.session.conns[suite.session.conns.length - 1], () => (c.ch.reject(c.got[1], false), c.ch.checkQueue(q)), 540,
      `NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues ${inVhost(q)}`);
    c = await streamConsumer(q, 'first');
    await waitFor(() => c.got.length === 2);
    const last = suite.session.conns[suite.session.conns.length - 1];
    await expectChannelError(last, c.ch, () => c.ch.ack({ ...c.got[0], fields: { ...c.got[0].fields, deliveryTag: 999 } }), 406, 'PRECONDITION_FAILED - unknown delivery tag 999', 60, 80);
  });
});

describe('consuming a stream', () => {
  it.each([
    ['first', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ['last', [9]],
    [5, [5, 6, 7, 8, 9]],
    [0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    [9, [9]],
    [-1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ['1h', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
  ])('starts from x-stream-offset %s', async (offset, expected) => {
    const q = await filledStream(10);
    const c = await streamConsumer(q, offset);
    await waitFor(() => c.got.length === expected.length);
    await sleep(100);
    expect(c.offsets()).toEqual(expected);
    expect(c.got.map((m) => m.content.toString())).toEqual(expected.map((i) => `m${i}`));
  });

  it.each([['next'], [undefined], [10]])('with x-stream-offset %s gets only what is published afterwards', async (offset) => {
    const q = await filledStream(3);
    const c = await streamConsumer(q, offset === 10 ? 3 : offset);
    await sleep(200);
    expect(c.got).toEqual([]);
    (await suite.session.channel()).sendToQueue(q, Buffer.from('late'));
    await waitFor(() => c.got.length === 1);
    expect(c.offsets()).toEqual([3]);
  });

  it('waits for an offset beyond the end', async () => {
    const q = await filledStream(2);
    const c = await streamConsumer(q, 4);
    const ch = await suite.session.confirmChannel();
    for (let i = 0; i < 4; i++) {
      ch.sendToQueue(q, Buffer.from(`late${i}`));
      await ch.waitForConfirms();
    }
    await waitFor(() => c.got.length === 2);
    expect(c.offsets()).toEqual([4, 5]);
  });

  it('starts from a timestamp', async () => {
    const q = await filledStream(2);
    await sleep(2100);
    const between = new Date();
    const ch = await suite.session.confirmChannel();
    ch.sendToQueue(q, Buffer.from('m2'));
    await ch.waitForConfirms();
    const fromBetween = await streamConsumer(q, { '!': 'timestamp', value: Math.floor(between.getTime() / 1000) });
    const fromZero = await streamConsumer(q, { '!': 'timestamp', value: 0 });
    await waitFor(() => fromBetween.got.length === 1 && fromZero.got.length === 3);
    expect(fromBetween.offsets()).toEqual([2]);
  });

  it('delivers with an x-stream-offset long header, headers sorted, tables and arrays dropped, never redelivered', async () => {
    const q = streamName();
    const ch = await suite.session.confirmChannel();
    await ch.assertQueue(q, { durable: true, arguments: STREAM });
    ch.sendToQueue(q, Buffer.from('full'), {
      contentType: 'text/plain',
      priority: 5,
      headers: { zeta: 'last', alpha: 'first', Beta: 'upper', n: 7, table: { a: 1 }, list: [1, 2] },
    });
    await ch.waitForConfirms();
    const c = await streamConsumer(q, 'first');
    await waitFor(() => c.got.length === 1);
    const m = c.got[0];
    expect(m.fields).toMatchObject({ redelivered: false, exchange: '', routingKey: q, deliveryTag: 1 });
    expect(Object.keys(m.properties.headers!)).toEqual(['Beta', 'alpha', 'n', 'x-stream-offset', 'zeta']);
    expect(m.properties.headers!['x-stream-offset']).toBe(0);
    expect(m.properties).toMatchObject({ contentType: 'text/plain', priority: 5 });
  });

  it('limits deliveries by the prefetch, acks giving credit back', async () => {
    const q = await filledStream(6);
    const c = await streamConsumer(q, 'first', 2);
    await waitFor(() => c.got.length === 2);
    await sleep(100);
    expect(c.offsets()).toEqual([0, 1]);
    c.ch.ack(c.got[0]);
    await waitFor(() => c.got.length === 3);
    c.ch.ack(c.got[2], true);
    await waitFor(() => c.got.length === 5);
    await sleep(100);
    expect(c.offsets()).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives every consumer every message; consumers are not counted', async () => {
    const q = await filledStream(3);
    const conn = await suite.session.connection();
    const ch = await suite.session.channel(conn);
    const a = await streamConsumer(q, 'first', 10, ch);
    const b = await streamConsumer(q, 'first', 10, ch);
    const other = await streamConsumer(q, 'first', 10);
    await waitFor(() => a.got.length === 3 && b.got.length === 3 && other.got.length === 3);
    expect(a.got.map((m) => m.fields.deliveryTag)).not.toEqual(b.got.map((m) => m.fields.deliveryTag));
    expect((await suite.session.counts(q)).consumerCount).toBe(0);
  });

  it('lets an exclusive consumer share the stream', async () => {
    const q = await filledStream(1);
    const ch = await suite.session.channel();
    await ch.prefetch(10);
    await ch.consume(q, () => {}, { exclusive: true });
    const c = await streamConsumer(q, 'first');
    await waitFor(() => c.got.length === 1);
  });

  it('deletes a stream whatever it holds, cancelling its consumers and reporting no messages', async () => {
    const q = await filledStream(2);
    const c = await streamConsumer(q, 'first');
    const admin = await suite.session.channel();
    expect(await admin.deleteQueue(q, { ifEmpty: true, ifUnused: true })).toEqual({ messageCount: 0 });
    await waitFor(() => c.state.cancelled);
  });
});
