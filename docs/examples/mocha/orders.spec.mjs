import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { broker } from './hooks.mjs';

describe('orders', () => {
  it('are queued for the billing service', async () => {
    const conn = await amqp.connect(broker.url, { noDelay: true });
    const ch = await conn.createChannel();
    await ch.assertQueue('orders');
    ch.sendToQueue('orders', Buffer.from('order 1'));
    const queued = await broker.waitFor.queue('orders', { messages: 1 });
    assert.equal(queued.messages, 1);
    await conn.close();
  });

  it('start from a clean broker', () => {
    assert.deepEqual(broker.inspect.queues(), []);
  });
});
