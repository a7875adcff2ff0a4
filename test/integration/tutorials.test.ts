// RabbitMQ's six tutorials (hello world, work queues, publish/subscribe, routing, topics, RPC) with amqplib.
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';

let broker: TestBroker;
let conn: ChannelModel;
let ch: Channel;
const suffix = () => Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());
beforeEach(async () => {
  conn = await amqp.connect(broker.url);
  ch = await conn.createChannel();
});
afterEach(() => conn.close());

/** Collects message bodies from a queue until `n` arrived. */
async function collect(channel: Channel, queue: string, n: number, ack = true): Promise<string[]> {
  const got: string[] = [];
  await new Promise<void>((resolve) => {
    void channel.consume(queue, (m: ConsumeMessage | null) => {
      if (!m) return;
      got.push(m.content.toString());
      if (ack) channel.ack(m);
      if (got.length === n) resolve();
    });
  });
  return got;
}

describe('RabbitMQ tutorials with amqplib', () => {
  it('1 hello world', async () => {
    const q = `hello-${suffix()}`;
    await ch.assertQueue(q, { durable: false, autoDelete: true });
    ch.sendToQueue(q, Buffer.from('Hello World!'));
    expect(await collect(ch, q, 1)).toEqual(['Hello World!']);
  });

  it('2 work queues: fair dispatch with prefetch 1 and acks', async () => {
    const q = `task-${suffix()}`;
    await ch.assertQueue(q, { durable: true });
    const w1 = await conn.createChannel();
    const w2 = await conn.createChannel();
    await w1.prefetch(1);
    await w2.prefetch(1);
    const tasks = Array.from({ length: 10 }, (_, i) => `task ${i}`);
    for (const t of tasks) ch.sendToQueue(q, Buffer.from(t), { persistent: true });
    const [a, b] = await Promise.all([collect(w1, q, 5), collect(w2, q, 5)]);
    expect([...a, ...b].sort()).toEqual(tasks.sort());
    await ch.deleteQueue(q);
  });

  it('3 publish/subscribe through a fanout exchange', async () => {
    const ex = `logs-${suffix()}`;
    await ch.assertExchange(ex, 'fanout', { durable: false });
    const qs = await Promise.all([1, 2].map(() => ch.assertQueue('', { exclusive: true })));
    for (const q of qs) await ch.bindQueue(q.queue, ex, '');
    ch.publish(ex, '', Buffer.from('log line'));
    for (const q of qs) expect(await collect(ch, q.queue, 1)).toEqual(['log line']);
    await ch.deleteExchange(ex);
  });

  it('4 routing through a direct exchange', async () => {
    const ex = `direct_logs-${suffix()}`;
    await ch.assertExchange(ex, 'direct', { durable: false });
    const errors = await ch.assertQueue('', { exclusive: true });
    const all = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(errors.queue, ex, 'error');
    for (const sev of ['info', 'warning', 'error']) await ch.bindQueue(all.queue, ex, sev);
    for (const sev of ['info', 'warning', 'error', 'debug']) ch.publish(ex, sev, Buffer.from(sev));
    expect(await collect(ch, errors.queue, 1)).toEqual(['error']);
    expect(await collect(ch, all.queue, 3)).toEqual(['info', 'warning', 'error']);
    await ch.deleteExchange(ex);
  });

  it('5 topics', async () => {
    const ex = `topic_logs-${suffix()}`;
    await ch.assertExchange(ex, 'topic', { durable: false });
    const q1 = await ch.assertQueue('', { exclusive: true });
    const q2 = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(q1.queue, ex, '*.orange.*');
    await ch.bindQueue(q2.queue, ex, '*.*.rabbit');
    await ch.bindQueue(q2.queue, ex, 'lazy.#');
    for (const key of ['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox', 'lazy.brown.fox', 'lazy.pink.rabbit', 'quick.brown.fox', 'orange', 'quick.orange.male.rabbit', 'lazy.orange.male.rabbit']) {
      ch.publish(ex, key, Buffer.from(key));
    }
    expect(await collect(ch, q1.queue, 3)).toEqual(['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox']);
    expect(await collect(ch, q2.queue, 5)).toEqual(['quick.orange.rabbit', 'lazy.orange.elephant', 'lazy.brown.fox', 'lazy.pink.rabbit', 'lazy.orange.male.rabbit']);
    await ch.deleteExchange(ex);
  });

  it('6 RPC with a callback queue and correlation ids', async () => {
    const rpc = `rpc_queue-${suffix()}`;
    await ch.assertQueue(rpc, { durable: false });
    const server = await conn.createChannel();
    await server.prefetch(1);
    const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2));
    await server.consume(rpc, (m) => {
      if (!m) return;
      const n = Number(m.content.toString());
      server.sendToQueue(m.properties.replyTo, Buffer.from(String(fib(n))), { correlationId: m.properties.correlationId });
      server.ack(m);
    });
    const callback = await ch.assertQueue('', { exclusive: true });
    const answer = new Promise<string>((resolve) => {
      void ch.consume(callback.queue, (m) => {
        if (m?.properties.correlationId === 'c-30') resolve(m.content.toString());
      }, { noAck: true });
    });
    ch.sendToQueue(rpc, Buffer.from('30'), { correlationId: 'c-30', replyTo: callback.queue });
    expect(await answer).toBe('832040');
    await ch.deleteQueue(rpc);
  });
});
