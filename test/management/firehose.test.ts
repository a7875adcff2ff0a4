// RabbitMQ's firehose: with tracing on in a vhost (PUT /api/vhosts/{v} {"tracing": true}), copies of what
// is published and delivered go to amq.rabbitmq.trace, with RabbitMQ 3.10's routing keys and headers.
// Runs against Warren or, with AMQP_URL and RABBITMQ_MGMT_URL, against a real RabbitMQ.
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';
import { api, type Api } from '../support/management.js';

let broker: TestBroker;
let guest: Api;
let conn: amqp.ChannelModel;
const id = randomBytes(3).toString('hex');
const vhost = `firehose-${id}`;
const queue = `traced-${id}`;

beforeAll(async () => {
  broker = await testBroker({ management: true });
  guest = api(broker.managementUrl!, 'guest', 'guest');
  expect((await guest.put(`/api/vhosts/${vhost}`, { description: 'traced', tracing: true })).status).toBe(201);
  await guest.put(`/api/permissions/${vhost}/guest`, { configure: '.*', write: '.*', read: '.*' });
  conn = await amqp.connect(`${broker.url}${vhost}`);
});
afterAll(async () => {
  await conn?.close();
  await guest.del(`/api/vhosts/${vhost}`);
  await broker.close();
});

type Traced = { routingKey: string; exchange: string; body: string; headers: Record<string, unknown>; properties: Record<string, unknown> };

/** A queue bound to amq.rabbitmq.trace for `pattern`, and a way to read what reached it. */
async function tracer(pattern: string) {
  const ch = await conn.createChannel();
  const { queue: q } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q, 'amq.rabbitmq.trace', pattern);
  return {
    async take(count: number, tries = 200): Promise<Traced[]> {
      const out: Traced[] = [];
      for (let tried = 0; out.length < count && tried < tries; tried++) {
        const m = await ch.get(q, { noAck: true });
        if (!m) await new Promise((r) => setTimeout(r, 10));
        else out.push({ routingKey: m.fields.routingKey, exchange: m.fields.exchange, body: m.content.toString(), headers: m.properties.headers ?? {}, properties: { deliveryMode: m.properties.deliveryMode, contentType: m.properties.contentType } });
      }
      return out;
    },
  };
}

describe('the firehose', () => {
  it('says tracing is on in the vhost', async () => {
    expect(((await guest.get(`/api/vhosts/${vhost}`)).body as { tracing: boolean }).tracing).toBe(true);
  });

  it('copies a publish as publish.<exchange>, with the message, its properties and who sent it', async () => {
    const trace = await tracer('publish.#');
    const ch = await conn.createChannel();
    await ch.assertQueue(queue);
    ch.publish('', queue, Buffer.from('hello'), { contentType: 'text/plain', persistent: true, priority: 3, messageId: 'm1', timestamp: 1700000000, headers: { h: 1, CC: ['cc-key'], BCC: ['bcc-key'] } });
    ch.publish('amq.direct', 'unroutable', Buffer.from('x'));
    const [first, second] = await trace.take(2);
    expect(first).toMatchObject({ routingKey: 'publish.', exchange: 'amq.rabbitmq.trace', body: 'hello', properties: { deliveryMode: undefined, contentType: undefined } });
    expect(Object.keys(first.headers)).toEqual(['exchange_name', 'routing_keys', 'properties', 'node', 'vhost', 'connection', 'channel', 'user', 'routed_queues']);
    expect(first.headers).toMatchObject({
      exchange_name: '',
      routing_keys: [queue, 'cc-key', 'bcc-key'],
      vhost,
      channel: expect.any(Number),
      user: 'guest',
      // the default exchange routes to names, whether or not such queues exist
      routed_queues: ['bcc-key', 'cc-key', queue].sort(),
    });
    expect(first.headers.connection).toMatch(/^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
    expect(typeof first.headers.node).toBe('string');
    const properties = first.headers.properties as Record<string, unknown>;
    // last property first, the BCC header gone
    expect(Object.keys(properties)).toEqual(['timestamp', 'message_id', 'priority', 'delivery_mode', 'headers', 'content_type']);
    expect(properties).toEqual({ timestamp: 1700000000, message_id: 'm1', priority: 3, delivery_mode: 2, headers: { h: 1, CC: ['cc-key'] }, content_type: 'text/plain' });
    expect(second).toMatchObject({ routingKey: 'publish.amq.direct', body: 'x', headers: { exchange_name: 'amq.direct', routing_keys: ['unroutable'], properties: {}, routed_queues: [] } });
  });

  it('copies deliveries (get and consume) as deliver.<queue>, with redelivered as 0 or 1', async () => {
    const trace = await tracer('deliver.#');
    const ch = await conn.createChannel();
    await ch.assertQueue(queue);
    await ch.purgeQueue(queue);
    ch.sendToQueue(queue, Buffer.from('again'));
    let got: amqp.GetMessage | false = false;
    while (!got) got = await ch.get(queue);
    ch.nack(got, false, true);
    await new Promise<void>((resolve) => void ch.consume(queue, (m) => m && resolve(), { noAck: true }));
    const [first, second] = await trace.take(2);
    expect(first).toMatchObject({ routingKey: `deliver.${queue}`, body: 'again', headers: { exchange_name: '', routing_keys: [queue], redelivered: 0, vhost, channel: expect.any(Number), user: 'guest' } });
    expect(Object.keys(first.headers)).toEqual(['exchange_name', 'routing_keys', 'properties', 'node', 'redelivered', 'vhost', 'connection', 'channel', 'user']);
    expect(second.headers.redelivered).toBe(1);
  });

  it('writes integer properties as 32-bit signed ints, wrapping larger ones as RabbitMQ does', async () => {
    const trace = await tracer('publish.amq.direct');
    const ch = await conn.createChannel();
    ch.publish('amq.direct', 'nowhere', Buffer.from('late'), { timestamp: 2 ** 40 + 5, priority: 1 });
    const [copy] = await trace.take(1);
    expect(copy.headers.properties).toEqual({ timestamp: 5, priority: 1, headers: {} });
    // and the connection is still there
    await ch.checkExchange('amq.direct');
  });

  it('stops when tracing is turned off', async () => {
    expect((await guest.put(`/api/vhosts/${vhost}`, { description: 'traced', tracing: false })).status).toBe(204);
    const trace = await tracer('#');
    const ch = await conn.createConfirmChannel();
    await new Promise((resolve, reject) => ch.publish('amq.direct', 'nowhere', Buffer.from('quiet'), {}, (err) => (err ? reject(err) : resolve(0))));
    // the publish is confirmed, so a copy would be there by now
    expect(await trace.take(1, 20)).toEqual([]);
  });
});
