// A test that uses the broker of vitest.setup.mjs through inject().
import { expect, inject, test } from 'vitest';
import amqp from 'amqplib';

test('the queue is there, and the management API says so', async () => {
  const conn = await amqp.connect(inject('amqpUrl'), { noDelay: true });
  await (await conn.createChannel()).assertQueue('orders');
  await conn.close();
  const api = new URL(inject('managementUrl'));
  const auth = `Basic ${Buffer.from(`${api.username}:${api.password}`).toString('base64')}`;
  const res = await fetch(`${api.origin}/api/queues/%2F/orders`, { headers: { authorization: auth } });
  expect(res.status).toBe(200);
});
