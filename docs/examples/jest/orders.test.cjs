const amqp = require('amqplib');

test('an order goes through the broker in AMQP_URL', async () => {
  const conn = await amqp.connect(process.env.AMQP_URL, { noDelay: true });
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('order 1'));
  let m = false;
  while (!m) m = await ch.get(queue, { noAck: true });
  expect(m.content.toString()).toBe('order 1');
  await conn.close();
});
