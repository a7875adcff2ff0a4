// The observation channel: frames in and out, entities coming and going, and the message counters
// kept on every vhost, exchange, queue, connection and channel, seen through a real client.
import amqp, { type ChannelModel } from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COUNTER_KEYS, subscribe, type FrameEvent, type LifecycleEvent, type MessageCounters } from '../../src/broker/observation.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { decodeMethod } from '../../src/protocol/frames.js';
import { METHODS } from '../../src/protocol/generated/spec.js';
import { waitFor } from '../support/scenario.js';

let broker: RunningBroker;
let conn: ChannelModel;
const stops: (() => void)[] = [];
beforeEach(async () => {
  broker = await startBroker();
});
afterEach(async () => {
  for (const stop of stops.splice(0)) stop();
  await conn?.close().catch(() => {});
  await broker.close();
});

/** A frame as a name: the method's, or header/body/heartbeat. */
function describeFrame(f: FrameEvent): string {
  const what = f.type === 1 ? METHODS.get(decodeMethod(f.payload)!.id)!.name : f.type === 2 ? 'header' : f.type === 3 ? `body ${f.payload.toString()}` : 'heartbeat';
  return `${f.direction} ${f.channel} ${what}`;
}

/** The counters that are not zero. */
function nonZero(c: MessageCounters): Partial<Record<string, number>> {
  return Object.fromEntries(COUNTER_KEYS.filter((k) => c[k] !== 0).map((k) => [k, c[k]]));
}

describe('observation', () => {
  it('publishes every frame in and out of a connection, in order, with its channel', async () => {
    const frames: string[] = [];
    stops.push(subscribe(broker.broker, 'frame', (f) => frames.push(describeFrame(f))));
    conn = await amqp.connect(`${broker.url}?heartbeat=0`);
    const ch = await conn.createChannel();
    await ch.assertQueue('observed', { exclusive: true });
    ch.sendToQueue('observed', Buffer.from('hello'));
    await ch.get('observed', { noAck: true });
    await conn.close();
    await waitFor(() => frames.includes('out 0 connection.close-ok'));
    expect(frames).toEqual([
      'out 0 connection.start',
      'in 0 connection.start-ok',
      'out 0 connection.tune',
      'in 0 connection.tune-ok',
      'in 0 connection.open',
      'out 0 connection.open-ok',
      'in 1 channel.open',
      'out 1 channel.open-ok',
      'in 1 queue.declare',
      'out 1 queue.declare-ok',
      'in 1 basic.publish',
      'in 1 header',
      'in 1 body hello',
      'in 1 basic.get',
      'out 1 basic.get-ok',
      'out 1 header',
      'out 1 body hello',
      'in 0 connection.close',
      'out 0 connection.close-ok',
    ]);
  });

  it("hears only its own broker's events", async () => {
    const other = await startBroker();
    const seen: number[] = [];
    stops.push(subscribe(broker.broker, 'frame', (f) => seen.push(f.connection)));
    const elsewhere = await amqp.connect(other.url);
    await elsewhere.close();
    await other.close();
    expect(seen).toEqual([]);
  });

  it('announces connections, channels, queues, exchanges, bindings and consumers as they come and go', async () => {
    const events: string[] = [];
    const names = { connection: () => 'connection', channel: () => 'channel' } as const;
    for (const kind of ['connection', 'channel', 'queue', 'exchange', 'binding', 'consumer'] as const) {
      stops.push(
        subscribe(broker.broker, kind, (e: LifecycleEvent<unknown>) => {
          const s = e.subject as { name?: string; tag?: string; routingKey?: string };
          const name = kind in names ? '' : ` ${s.name ?? s.tag ?? s.routingKey}`;
          events.push(`${e.event} ${kind}${name}`);
        }),
      );
    }
    conn = await amqp.connect(`${broker.url}?heartbeat=0`);
    const ch = await conn.createChannel();
    await ch.assertExchange('obs.x', 'direct', { autoDelete: false });
    await ch.assertQueue('obs.q', { exclusive: true });
    await ch.bindQueue('obs.q', 'obs.x', 'key');
    await ch.consume('obs.q', () => {}, { consumerTag: 'obs.c' });
    await ch.deleteExchange('obs.x');
    await conn.close();
    await waitFor(() => events.includes('deleted connection'));
    expect(events).toEqual([
      'created connection',
      'created channel',
      'created exchange obs.x',
      'created queue obs.q',
      'created binding key',
      'created consumer obs.c',
      'deleted binding key',
      'deleted exchange obs.x',
      'deleted consumer obs.c',
      'deleted channel',
      'deleted queue obs.q',
      'deleted connection',
    ]);
  });

  it('gives back a connection once however it ends: a hard error, then the close-ok, then the socket', async () => {
    const ended: string[] = [];
    for (const kind of ['channel', 'queue', 'consumer', 'connection'] as const) {
      stops.push(subscribe(broker.broker, kind, (e) => e.event === 'deleted' && ended.push(kind)));
    }
    conn = await amqp.connect(`${broker.url}?heartbeat=0`);
    conn.on('error', () => {});
    const closed = new Promise((resolve) => conn.once('close', resolve));
    const channels = await Promise.all([conn.createChannel(), conn.createChannel()]);
    for (const ch of channels) ch.on('error', () => {});
    await channels[0].assertQueue('mine', { exclusive: true });
    await channels[1].consume('mine', () => {});
    // channel.flow active=false is a hard error: connection.close, close-ok, then the socket goes
    (channels[0] as unknown as { sendImmediately(method: number, fields: object): void }).sendImmediately(1310740, { active: false });
    await closed;
    await waitFor(() => ended.includes('connection'));
    expect(ended.sort()).toEqual(['channel', 'channel', 'connection', 'consumer', 'queue']);
    expect(broker.broker.vhost('/')!.queues.has('mine')).toBe(false);
  });

  it('counts what every message did on its vhost, exchange, queue, channel and connection', async () => {
    conn = await amqp.connect(`${broker.url}?heartbeat=0`);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('count.x', 'direct', { autoDelete: false });
    await ch.assertQueue('count.q', { exclusive: true });
    await ch.bindQueue('count.q', 'count.x', 'in');
    ch.publish('count.x', 'in', Buffer.from('aaaa'));
    ch.publish('count.x', 'in', Buffer.from('bb'));
    ch.publish('count.x', 'nowhere', Buffer.from('c'), { mandatory: true });
    ch.publish('count.x', 'nowhere', Buffer.from('d'));
    await ch.waitForConfirms();
    const first = await ch.get('count.q');
    ch.nack(first as amqp.GetMessage, false, true); // back, to be redelivered
    await ch.get('count.q', { noAck: true }); // the redelivered one
    const second = await ch.get('count.q');
    ch.ack(second as amqp.GetMessage);
    await ch.checkQueue('count.q');

    const vhost = broker.broker.vhost('/')!;
    const queue = vhost.queues.get('count.q')!;
    // the vhost counts everything done in it: what was routed, and what its channels did
    expect(nonZero(vhost.counters)).toEqual({ published: 4, publishedBytes: 8, routed: 2, unroutableReturned: 1, unroutableDropped: 1, confirmed: 4, got: 2, gotNoAck: 1, redelivered: 1, deliveredBytes: 10, acked: 1 });
    expect(nonZero(vhost.exchanges.get('count.x')!.counters)).toEqual({ published: 4, routed: 2 });
    expect(nonZero(queue.counters)).toEqual({ published: 2, publishedBytes: 6, got: 2, gotNoAck: 1, redelivered: 1, deliveredBytes: 10, acked: 1 });
    const [connection] = broker.server.connections;
    expect(nonZero(connection.counters)).toEqual({ published: 4, publishedBytes: 8, unroutableReturned: 1, unroutableDropped: 1, confirmed: 4, got: 2, gotNoAck: 1, redelivered: 1, deliveredBytes: 10, acked: 1 });
    expect(connection.bytesIn).toBeGreaterThan(0);
    expect(connection.bytesOut).toBeGreaterThan(0);
    expect(nonZero(broker.broker.counters)).toEqual(nonZero(vhost.counters));
  });
});
