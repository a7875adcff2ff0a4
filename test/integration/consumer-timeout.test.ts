// RabbitMQ's consumer_timeout, shortened through Warren's config (a real RabbitMQ needs a restart to
// change it, so this runs against Warren only): an unacknowledged delivery older than the timeout
// closes its channel with 406, and the message goes back to the queue.
import amqp from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
beforeAll(async () => {
  broker = await startBroker({ config: { consumerTimeoutMs: 300 } });
});
afterAll(() => broker.close());

it('closes a channel that holds a delivery unacknowledged past the consumer timeout', async () => {
  const conn = await amqp.connect(broker.url);
  const ch = await conn.createChannel();
  const closed = new Promise<Error>((resolve) => ch.on('error', resolve));
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('m'));
  await ch.consume(queue, () => {}); // never acks
  const err = await closed;
  expect(err.message).toBe(
    'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 300 ms. This timeout value can be configured, see consumers doc guide to learn more"',
  );
  const other = await conn.createChannel();
  const m = await other.get(queue, { noAck: true });
  expect(m && [m.content.toString(), m.fields.redelivered]).toEqual(['m', true]);
  await conn.close();
});
