// A test that takes its broker from AMQP_URL, as under `warren run -- node --test …` (or a RabbitMQ).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';

test('publishes and gets through the broker in AMQP_URL', async () => {
  const conn = await amqp.connect(process.env.AMQP_URL, { noDelay: true });
  const ch = await conn.createChannel();
  await ch.assertQueue('ci', { exclusive: true });
  ch.sendToQueue('ci', Buffer.from('hello'));
  let m = false;
  while (!m) m = await ch.get('ci', { noAck: true });
  assert.equal(m.content.toString(), 'hello');
  await conn.close();
});
