// Flow control must never lose or stall messages: a no-ack consumer drains a backlog larger than the
// output high-water mark, and a publisher held back by a busy queue is let go when its consumer leaves.
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());

describe('flow control', () => {
  it('delivers a 3 MB backlog to a no-ack consumer completely', async () => {
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const n = 30000;
    const body = Buffer.alloc(100, 1);
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, body);
    await ch.waitForConfirms();
    let got = 0;
    await new Promise<void>((resolve) => {
      void ch.consume(queue, () => {
        if (++got === n) resolve();
      }, { noAck: true });
    });
    expect(got).toBe(n);
    await conn.close();
  }, 30000);

  it('lets a publisher waiting on a busy queue go when the queue loses its consumer', async () => {
    const conn = await amqp.connect(broker.url);
    const consumer = await conn.createChannel();
    const { queue } = await consumer.assertQueue('', { exclusive: true });
    await consumer.prefetch(1);
    const { consumerTag } = await consumer.consume(queue, () => {}); // takes one message, never acks
    const pubConn = await amqp.connect(broker.url);
    const pub = await pubConn.createConfirmChannel();
    const n = 10000;
    for (let i = 0; i < n; i++) pub.sendToQueue(queue, Buffer.from(String(i)));
    // a backlog the consumer does not take: the publisher is held back by now (Warren holds it at 4000)
    while ((await consumer.checkQueue(queue)).messageCount < 4000);
    await consumer.cancel(consumerTag);
    await pub.waitForConfirms();
    const { messageCount } = await consumer.checkQueue(queue);
    expect(messageCount).toBe(n - 1);
    await pubConn.close();
    await conn.close();
  }, 30000);
});
