// Dead-lettering as RabbitMQ 3.10 does it: the reasons expired, maxlen and rejected, the x-death history
// (compared field by field, with types, against what RabbitMQ produced in the same scenario), the
// x-first-death-* headers, counts growing per queue and reason, and the cycle rule.
import type { Channel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeContentHeader } from '../../src/protocol/frames.js';
import { BASIC_GET, BASIC_GET_OK } from '../../src/protocol/generated/spec.js';
import { RawClient } from '../support/raw-client.js';
import { scenarioSuite } from '../support/session.js';

const suite = scenarioSuite();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const name = (prefix: string) => `warren-dlx-${prefix}-${randomBytes(5).toString('hex')}`;

/** A queue (deleted after the test) whose dead letters go to `dlq` through the default exchange. */
async function queue(ch: Channel, args: Record<string, unknown> = {}): Promise<string> {
  const q = name('q');
  suite.session.queues.push(q);
  await ch.assertQueue(q, { durable: false, arguments: args });
  return q;
}

async function deadLetterPair(ch: Channel, args: Record<string, unknown>) {
  const dlq = await queue(ch);
  const src = await queue(ch, { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args });
  return { dlq, src };
}

/** Waits until `q` holds `n` messages. */
async function waitCount(ch: Channel, q: string, n: number): Promise<void> {
  for (let i = 0; i < 100 && (await ch.checkQueue(q)).messageCount !== n; i++) await sleep(10);
  expect((await ch.checkQueue(q)).messageCount).toBe(n);
}

/** The headers of the next message of `q`, with their AMQP types, read over a raw connection. */
async function rawHeaders(q: string) {
  const c = await RawClient.open(suite.broker.port, suite.broker.host, {}, [1]);
  suite.session.raws.push(c);
  c.method(1, BASIC_GET, { queue: q, noAck: true });
  await c.expectMethod(BASIC_GET_OK, 1);
  const header = await c.nextFrame();
  return decodeContentHeader(header!.payload).properties;
}

describe('dead-lettering', () => {
  it('writes x-death for an expired message exactly as RabbitMQ, types and key order included', async () => {
    const ch = await suite.session.channel();
    const { dlq, src } = await deadLetterPair(ch, { 'x-message-ttl': 10 });
    ch.sendToQueue(src, Buffer.from('e'), { expiration: '5', headers: { keep: 1 } });
    await waitCount(ch, dlq, 1);
    const props = await rawHeaders(dlq);
    expect(props.expiration).toBeUndefined();
    const h = props.headers!;
    expect(Object.keys(h)).toEqual(['keep', 'x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason']);
    expect(h['x-first-death-exchange']).toEqual({ type: 'S', value: '' });
    expect(h['x-first-death-queue']).toEqual({ type: 'S', value: src });
    expect(h['x-first-death-reason']).toEqual({ type: 'S', value: 'expired' });
    const death = h['x-death'];
    expect(death.type).toBe('A');
    const entries = death.value as { type: string; value: Record<string, { type: string; value: unknown }> }[];
    expect(entries).toHaveLength(1);
    const e = entries[0].value;
    expect(Object.keys(e)).toEqual(['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys', 'original-expiration']);
    expect(e.count).toEqual({ type: 'l', value: 1 });
    expect(e.reason).toEqual({ type: 'S', value: 'expired' });
    expect(e.queue).toEqual({ type: 'S', value: src });
    expect(e.time.type).toBe('T');
    expect(Math.abs(Number(e.time.value) - Date.now() / 1000)).toBeLessThan(5);
    expect(e.exchange).toEqual({ type: 'S', value: '' });
    expect(e['routing-keys']).toEqual({ type: 'A', value: [{ type: 'S', value: src }] });
    expect(e['original-expiration']).toEqual({ type: 'S', value: '5' });
  });

  it('dead-letters the head dropped by x-max-length with reason maxlen', async () => {
    const ch = await suite.session.channel();
    const { dlq, src } = await deadLetterPair(ch, { 'x-max-length': 1 });
    ch.sendToQueue(src, Buffer.from('first'));
    ch.sendToQueue(src, Buffer.from('second'));
    await waitCount(ch, dlq, 1);
    const m = await ch.get(dlq, { noAck: true });
    expect(m && m.content.toString()).toBe('first');
    expect(m && m.fields.routingKey).toBe(dlq);
    const death = (m && m.properties.headers?.['x-death']) as unknown as Record<string, unknown>[];
    expect(death.map((d) => [d.reason, d.queue, d.count])).toEqual([['maxlen', src, 1]]);
  });

  it('dead-letters a message rejected without requeue, and not an acked one', async () => {
    const ch = await suite.session.channel();
    const { dlq, src } = await deadLetterPair(ch, {});
    ch.sendToQueue(src, Buffer.from('bad'));
    ch.sendToQueue(src, Buffer.from('good'));
    await waitCount(ch, src, 2);
    const bad = await ch.get(src);
    const good = await ch.get(src);
    if (!bad || !good) throw new Error('messages missing');
    ch.reject(bad, false);
    ch.ack(good);
    await waitCount(ch, dlq, 1);
    const m = await ch.get(dlq, { noAck: true });
    expect(m && m.content.toString()).toBe('bad');
    expect(m && m.properties.headers?.['x-first-death-reason']).toBe('rejected');
  });

  it('keeps the routing key when the queue has no dead-letter routing key', async () => {
    const ch = await suite.session.channel();
    const x = name('x');
    suite.session.exchanges.push(x);
    await ch.assertExchange(x, 'fanout', { durable: false });
    const dlq = await queue(ch);
    await ch.bindQueue(dlq, x, '');
    const src = await queue(ch, { 'x-dead-letter-exchange': x });
    ch.sendToQueue(src, Buffer.from('m'));
    await waitCount(ch, src, 1);
    const m = await ch.get(src);
    if (!m) throw new Error('message missing');
    ch.nack(m, false, false);
    await waitCount(ch, dlq, 1);
    const d = await ch.get(dlq, { noAck: true });
    expect(d && [d.fields.exchange, d.fields.routingKey]).toEqual([x, src]);
  });

  it('counts repeated deaths per queue and reason, moving the entry to the front with sorted keys', async () => {
    const ch = await suite.session.channel();
    const a = name('a');
    const b = name('b');
    suite.session.queues.push(a, b);
    await ch.assertQueue(a, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': b } });
    await ch.assertQueue(b, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': a } });
    ch.sendToQueue(a, Buffer.from('x'));
    for (let i = 0; i < 3; i++) {
      for (const q of [a, b]) {
        await waitCount(ch, q, 1);
        const m = await ch.get(q);
        if (!m) throw new Error('message missing');
        ch.nack(m, false, false);
      }
    }
    await waitCount(ch, a, 1);
    const h = (await rawHeaders(a)).headers!;
    const entries = (h['x-death'].value as { value: Record<string, { value: unknown }> }[]).map((e) => e.value);
    expect(entries.map((e) => [e.queue.value, e.reason.value, e.count.value])).toEqual([
      [b, 'rejected', 3],
      [a, 'rejected', 3],
    ]);
    expect(Object.keys(entries[0])).toEqual(['count', 'exchange', 'queue', 'reason', 'routing-keys', 'time']);
    expect(h['x-first-death-queue']).toEqual({ type: 'S', value: a });
  });

  it('drops a message that would expire back into the queue it died in', async () => {
    const ch = await suite.session.channel();
    const q = name('self');
    suite.session.queues.push(q);
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-message-ttl': 10 } });
    ch.sendToQueue(q, Buffer.from('s'));
    await sleep(100);
    await waitCount(ch, q, 0);
  });

  it('drops dead letters when the dead-letter exchange does not exist', async () => {
    const ch = await suite.session.channel();
    const src = await queue(ch, { 'x-dead-letter-exchange': name('missing'), 'x-message-ttl': 10 });
    ch.sendToQueue(src, Buffer.from('m'));
    await sleep(50);
    await waitCount(ch, src, 0);
  });
});
