// Policies set through the embedding API: they apply to matching queues and exchanges at once, the
// highest priority wins, and queue arguments combine with them as in RabbitMQ (lower limit wins,
// otherwise the argument).
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/broker/clock.js';
import type { VirtualHost } from '../../src/broker/virtual-host.js';
import { startBroker, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
let vhost: VirtualHost;
let clock: ManualClock;
let conn: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  broker = await startBroker({ clock: 'manual' });
  vhost = broker.broker.vhost('/')!;
  clock = broker.clock as ManualClock;
});
afterAll(() => broker.close());
beforeEach(async () => {
  conn = await amqp.connect(`${broker.url}?heartbeat=0`);
  ch = await conn.createChannel();
});
afterEach(async () => {
  for (const name of [...vhost.policies.keys()]) vhost.clearPolicy(name);
  await conn.close();
});

const count = async (q: string) => (await ch.checkQueue(q)).messageCount;

describe('policies', () => {
  it('applies message-ttl to matching queues, the lower of policy and argument winning', async () => {
    vhost.setPolicy({ name: 'ttl', pattern: '^pol\\.', applyTo: 'queues', priority: 0, definition: { 'message-ttl': 50 } });
    await ch.assertQueue('pol.a', { exclusive: true });
    await ch.assertQueue('pol.b', { exclusive: true, arguments: { 'x-message-ttl': 10000 } });
    await ch.assertQueue('other', { exclusive: true });
    for (const q of ['pol.a', 'pol.b', 'other']) ch.sendToQueue(q, Buffer.from('m'));
    expect([await count('pol.a'), await count('pol.b'), await count('other')]).toEqual([1, 1, 1]);
    clock.advance(50);
    expect([await count('pol.a'), await count('pol.b'), await count('other')]).toEqual([0, 0, 1]);
  });

  it('applies to existing queues when set and stops when cleared', async () => {
    await ch.assertQueue('pol.len', { exclusive: true });
    for (const m of ['1', '2', '3']) ch.sendToQueue('pol.len', Buffer.from(m));
    await ch.checkQueue('pol.len');
    vhost.setPolicy({ name: 'len', pattern: '^pol\\.len$', applyTo: 'all', priority: 0, definition: { 'max-length': 1 } });
    expect(await count('pol.len')).toBe(1);
    vhost.clearPolicy('len');
    ch.sendToQueue('pol.len', Buffer.from('4'));
    expect(await count('pol.len')).toBe(2);
  });

  it('uses the policy with the highest priority', async () => {
    vhost.setPolicy({ name: 'low', pattern: '.*', applyTo: 'queues', priority: 1, definition: { 'max-length': 5 } });
    vhost.setPolicy({ name: 'high', pattern: '^pol\\.', applyTo: 'queues', priority: 9, definition: { 'max-length': 2 } });
    await ch.assertQueue('pol.prio', { exclusive: true });
    for (let i = 0; i < 4; i++) ch.sendToQueue('pol.prio', Buffer.from(String(i)));
    expect(await count('pol.prio')).toBe(2);
  });

  it('takes the dead-letter exchange from the argument over the policy', async () => {
    await ch.assertQueue('dl.from-policy', { exclusive: true });
    await ch.assertQueue('dl.from-arg', { exclusive: true });
    vhost.setPolicy({ name: 'dlx', pattern: '^pol\\.dl', applyTo: 'queues', priority: 0, definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': 'dl.from-policy' } });
    await ch.assertQueue('pol.dl1', { exclusive: true });
    await ch.assertQueue('pol.dl2', { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dl.from-arg' } });
    // one channel: each method is done before the next is read
    for (const q of ['pol.dl1', 'pol.dl2']) {
      ch.sendToQueue(q, Buffer.from(q));
      const m = await ch.get(q);
      if (!m) throw new Error(`no message in ${q}`);
      ch.reject(m, false);
    }
    expect([await count('dl.from-policy'), await count('dl.from-arg')]).toEqual([1, 1]);
  });

  it('gives exchanges an alternate exchange', async () => {
    await ch.assertExchange('pol.x', 'direct', { autoDelete: false });
    await ch.assertQueue('pol.ae-target', { exclusive: true });
    await ch.bindQueue('pol.ae-target', 'amq.fanout', '');
    vhost.setPolicy({ name: 'ae', pattern: '^pol\\.x$', applyTo: 'exchanges', priority: 0, definition: { 'alternate-exchange': 'amq.fanout' } });
    ch.publish('pol.x', 'unroutable', Buffer.from('m'));
    expect(await count('pol.ae-target')).toBe(1);
    await ch.deleteExchange('pol.x');
  });

  it.each([
    [{ 'message-ttl': -1 }, '-1 is not a valid message TTL'],
    [{ expires: 0 }, '0 is not a valid queue expiry'],
    [{ overflow: 'drop-tail' }, '<<"drop-tail">> is not a valid overflow value'],
    [{ 'max-age': '1x' }, '<<"1x">> is not a valid max age'],
    [{ 'dead-letter-exchange': 5 }, '5 is not a valid dead letter exchange name'],
    [{ 'max-priority': 5 }, '[{<<"max-priority">>,5}] are not recognised policy settings'],
  ])('refuses the definition %j with RabbitMQ\'s text (as its HTTP API gave it)', (definition, reason) => {
    expect(() => vhost.setPolicy({ name: 'bad', pattern: '.*', applyTo: 'all', priority: 0, definition })).toThrow(`Validation failed\n\n${reason}\n`);
    expect(vhost.policies.has('bad')).toBe(false);
  });
});
