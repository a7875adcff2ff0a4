// Single active consumer, queue expiry (x-expires), priority queues, CC/BCC routing and quorum-queue
// rules (declaration, x-delivery-count, x-delivery-limit), as RabbitMQ 3.10 behaves.
import type { Channel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scenarioSuite } from '../support/session.js';

const suite = scenarioSuite();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exists = (ch: Channel, q: string) => ch.checkQueue(q).then(() => true, () => false);

describe('x-single-active-consumer', () => {
  it('delivers to the first consumer only, and to the next once it cancels', async () => {
    const conn = await suite.session.connection();
    const ch = await suite.session.channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-single-active-consumer': true } });
    const got: Record<string, string[]> = { first: [], second: [] };
    const first = await ch.consume(queue, (m) => m && got.first.push(m.content.toString()), { noAck: true });
    const ch2 = await suite.session.channel(conn);
    await ch2.consume(queue, (m) => m && got.second.push(m.content.toString()), { noAck: true });
    for (const m of ['a', 'b', 'c']) ch.sendToQueue(queue, Buffer.from(m));
    await sleep(100);
    expect(got).toEqual({ first: ['a', 'b', 'c'], second: [] });
    await ch.cancel(first.consumerTag);
    for (const m of ['d', 'e']) ch.sendToQueue(queue, Buffer.from(m));
    await sleep(100);
    expect(got).toEqual({ first: ['a', 'b', 'c'], second: ['d', 'e'] });
  });
});

describe('x-expires', () => {
  it('deletes a queue left unused, counting a passive declaration as use', async () => {
    const ch = await suite.session.channel();
    const q = `warren-expires-${randomBytes(5).toString('hex')}`;
    suite.session.queues.push(q);
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 200 } });
    await sleep(120);
    await ch.checkQueue(q);
    await sleep(120);
    expect(await exists(await suite.session.channel(), q)).toBe(true);
    await sleep(250);
    expect(await exists(await suite.session.channel(), q)).toBe(false);
  });

  it('keeps a queue that has a consumer', async () => {
    const ch = await suite.session.channel();
    const q = `warren-expires-${randomBytes(5).toString('hex')}`;
    suite.session.queues.push(q);
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100 } });
    await ch.consume(q, () => {});
    await sleep(300);
    expect(await exists(await suite.session.channel(), q)).toBe(true);
  });
});

describe('x-max-priority', () => {
  it('delivers by priority, FIFO within one, above the maximum as the maximum, requeued back in place', async () => {
    const ch = await suite.session.confirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-priority': 5 } });
    const msgs: [string, number | undefined][] = [['a', 1], ['b', 9], ['c', undefined], ['d', 5], ['e', 1], ['f', 3], ['g', 7]];
    for (const [m, p] of msgs) ch.sendToQueue(queue, Buffer.from(m), p === undefined ? {} : { priority: p });
    await ch.waitForConfirms();
    const first = await ch.get(queue);
    const second = await ch.get(queue);
    if (!first || !second) throw new Error('messages missing');
    ch.nack(second, false, true);
    ch.nack(first, false, true);
    await ch.checkQueue(queue);
    const order: string[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      order.push(m.content.toString() + (m.fields.redelivered ? '*' : ''));
    }
    // b (9) and g (7) count as 5, in publish order with d (5); a and e (1) before c (none = 0)
    expect(order).toEqual(['b*', 'd*', 'g', 'f', 'a', 'e', 'c']);
  });
});

describe('sender-selected distribution', () => {
  it('routes to the CC and BCC keys too, and delivers without the BCC header', async () => {
    const ch = await suite.session.confirmChannel();
    const x = `warren-cc-${randomBytes(5).toString('hex')}`;
    suite.session.exchanges.push(x);
    await ch.assertExchange(x, 'direct', { durable: false });
    const queues: string[] = [];
    for (const key of ['main', 'cc1', 'bcc1', 'other']) {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, x, key);
      queues.push(queue);
    }
    ch.publish(x, 'main', Buffer.from('m'), { headers: { CC: ['cc1'], BCC: ['bcc1'], keep: 'y' } });
    await ch.waitForConfirms();
    const got: unknown[] = [];
    for (const q of queues) {
      const m = await ch.get(q, { noAck: true });
      got.push(m ? [m.fields.routingKey, m.properties.headers] : null);
    }
    const delivered = ['main', { CC: ['cc1'], keep: 'y' }];
    expect(got).toEqual([delivered, delivered, delivered, null]);
  });
});

describe('quorum queues', () => {
  const quorum = { 'x-queue-type': 'quorum' };
  const name = () => `warren-qq-${randomBytes(5).toString('hex')}`;

  it.each<[string, { durable: boolean; exclusive?: boolean; autoDelete?: boolean; arguments?: object }, string]>([
    ['non-durable', { durable: false }, "invalid property 'non-durable' for queue '%s' in vhost '/'"],
    ['exclusive', { durable: true, exclusive: true }, "invalid property 'exclusive-owner' for queue '%s' in vhost '/'"],
    ['auto-delete', { durable: true, autoDelete: true }, "invalid property 'auto-delete' for queue '%s' in vhost '/'"],
    ['x-max-priority', { durable: true, arguments: { 'x-max-priority': 5 } }, "invalid arg 'x-max-priority' for queue '%s' in vhost '/' of queue type rabbit_quorum_queue"],
  ])('refuses a %s quorum queue with 406', async (_what, options, text) => {
    const ch = await suite.session.channel();
    const q = name();
    const err = await ch.assertQueue(q, { ...options, arguments: { ...quorum, ...options.arguments } }).then(() => undefined, (e: Error) => e.message);
    expect(err).toBe(`Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - ${text.replace('%s', q)}"`);
  });

  it('refuses a server-named quorum queue', async () => {
    const ch = await suite.session.channel();
    const err = await ch.assertQueue('', { durable: true, arguments: quorum }).then(() => undefined, (e: Error) => e.message);
    expect(err).toMatch(/PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue"$/);
  });

  it('counts deliveries in x-delivery-count and drops a message past x-delivery-limit', async () => {
    const ch = await suite.session.channel();
    const q = name();
    suite.session.queues.push(q);
    await ch.assertQueue(q, { durable: true, arguments: { ...quorum, 'x-delivery-limit': 2 } });
    ch.sendToQueue(q, Buffer.from('m'));
    await sleep(100);
    const seen: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await ch.get(q);
      if (!m) {
        seen.push('empty');
        break;
      }
      seen.push([m.properties.headers?.['x-delivery-count'], m.fields.redelivered]);
      ch.nack(m, false, true);
      await sleep(50);
    }
    expect(seen).toEqual([[0, false], [1, true], [2, true], 'empty']);
  });

  it('tells a classic queue redeclared as quorum that its current type is none', async () => {
    const ch = await suite.session.channel();
    const q = name();
    suite.session.queues.push(q);
    await ch.assertQueue(q, { durable: true });
    const err = await ch.assertQueue(q, { durable: true, arguments: quorum }).then(() => undefined, (e: Error) => e.message);
    expect(err).toMatch(new RegExp(`inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"$`));
  });
});
