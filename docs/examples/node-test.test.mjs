// node:test with one broker for the file and a reset before each test.
// Run: node --test docs/examples/node-test.test.mjs
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { startBroker } from 'warren';

let broker;
before(async () => {
  broker = await startBroker({ clock: 'manual' });
});
beforeEach(() => broker.reset());
after(() => broker.close());

test('a job that fails is retried after 30 s, without waiting 30 s', async () => {
  const conn = await amqp.connect(`${broker.url}?heartbeat=0`, { noDelay: true });
  const ch = await conn.createChannel();
  await ch.assertQueue('jobs');
  await ch.assertQueue('jobs.retry', { arguments: { 'x-message-ttl': 30_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'jobs' } });
  ch.sendToQueue('jobs.retry', Buffer.from('job 1'));
  await broker.waitFor.queue('jobs.retry', { messages: 1 });

  broker.clock.advance(30_000);

  const retried = await broker.waitForMessage('jobs', (m) => m.body.toString() === 'job 1');
  assert.equal(retried.headers['x-death'][0].reason, 'expired'); // headers as JSON
  await conn.close();
});

test('starts from a clean broker', () => {
  assert.deepEqual(broker.inspect.queues(), []);
});
