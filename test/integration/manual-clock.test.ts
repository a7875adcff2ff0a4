// Time-driven behaviour under a manual clock: message TTLs, dead-letter retries, x-expires, the
// consumer timeout and heartbeats, each moved through by advancing the clock, without sleeping.
import amqp, { type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/broker/clock.js';
import { startBroker, type BrokerOptions, type RunningBroker } from '../../src/index.js';
import { BASIC_QOS, BASIC_QOS_OK, CHANNEL_CLOSE } from '../../src/protocol/generated/spec.js';
import { RawClient } from '../support/raw-client.js';

let broker: RunningBroker | undefined;
let conn: ChannelModel | undefined;
afterEach(async () => {
  await conn?.close().catch(() => {});
  conn = undefined;
  await broker?.close();
  broker = undefined;
});

/** A broker on a manual clock and a channel to it (without heartbeats: moving the clock minutes on would make amqplib look dead). */
async function start(options: BrokerOptions = {}): Promise<{ clock: ManualClock; ch: amqp.Channel }> {
  broker = await startBroker({ ...options, clock: 'manual' });
  conn = await amqp.connect(`${broker.url}?heartbeat=0`);
  const ch = await conn.createChannel();
  ch.on('error', () => {}); // tests that expect a channel error wait for it themselves
  return { clock: broker.clock as ManualClock, ch };
}

describe('a broker on a manual clock', () => {
  it('expires a message at its TTL to the millisecond, and not before', async () => {
    const { clock, ch } = await start();
    await ch.assertQueue('ttl', { arguments: { 'x-message-ttl': 30000 } });
    ch.sendToQueue('ttl', Buffer.from('m'));
    expect((await ch.checkQueue('ttl')).messageCount).toBe(1);
    clock.advance(29999);
    expect((await ch.checkQueue('ttl')).messageCount).toBe(1);
    clock.advance(1);
    expect((await ch.checkQueue('ttl')).messageCount).toBe(0);
  });

  it('runs a dead-letter retry with a 30 s delay in no time', async () => {
    const { clock, ch } = await start();
    await ch.assertQueue('work');
    await ch.assertQueue('retry', { arguments: { 'x-message-ttl': 30000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'work' } });
    ch.sendToQueue('retry', Buffer.from('again'));
    await ch.checkQueue('retry');
    const started = performance.now();
    clock.advance(30000);
    const m = await ch.get('work', { noAck: true });
    expect(m && m.content.toString()).toBe('again');
    expect(m && (m.properties.headers?.['x-death'] as { reason: string }[])[0].reason).toBe('expired');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('deletes an unused x-expires queue when its time is up, and not before', async () => {
    const { clock, ch } = await start();
    await ch.assertQueue('short-lived', { arguments: { 'x-expires': 60000 } });
    // looked at without a declaration, which would count as a use and start the time again
    const exists = () => broker!.broker.vhost('/')!.queues.has('short-lived');
    clock.advance(59999);
    expect(exists()).toBe(true);
    clock.advance(1);
    expect(exists()).toBe(false);
    await expect(ch.checkQueue('short-lived')).rejects.toThrow(/404 \(NOT-FOUND\)/);
  });

  it('closes a channel whose delivery stays unacknowledged past the consumer timeout', async () => {
    const { clock, ch } = await start({ config: { consumerTimeoutMs: 600000 } });
    const closed = new Promise<Error>((resolve) => ch.once('error', resolve));
    await ch.assertQueue('slow');
    ch.sendToQueue('slow', Buffer.from('m'));
    let delivered = false;
    await ch.consume('slow', () => (delivered = true));
    await ch.checkQueue('slow'); // the delivery has been written by now
    expect(delivered).toBe(true);
    clock.advance(600000); // at the timeout: not past it
    await ch.checkQueue('slow');
    clock.advance(60000); // the next check finds it overdue
    expect((await closed).message).toBe(
      'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 600000 ms. This timeout value can be configured, see consumers doc guide to learn more"',
    );
    // the message goes back to the queue, redelivered
    const other = await conn!.createChannel();
    const m = await other.get('slow', { noAck: true });
    expect(m && [m.content.toString(), m.fields.redelivered]).toEqual(['m', true]);
  });

  it('sends heartbeats every half interval and drops a peer silent for two checks', async () => {
    broker = await startBroker({ clock: 'manual' });
    const clock = broker.clock as ManualClock;
    const c = await RawClient.open(broker.port, broker.host, { heartbeat: 10 });
    const beats = () => c.frames.filter((f) => f.type === 8).length;
    // the handshake counts as traffic both ways: the first beat comes at the second tick (10 s),
    // and the check then finds the peer heard from
    clock.advance(10000);
    expect(await c.until(() => beats() === 1)).toBe(true);
    clock.advance(5000);
    expect(await c.until(() => beats() === 2)).toBe(true);
    clock.advance(5000); // silent since the last check: once
    expect(await c.until(() => beats() === 3)).toBe(true);
    expect(c.closedAt).toBeUndefined();
    clock.advance(10000); // silent for the second check: dropped, without a close frame
    expect(await c.closed()).toBeDefined();
    expect(c.frames.some((f) => f.method?.id === CHANNEL_CLOSE)).toBe(false);
  });

  it('keeps a connection whose client answers with heartbeats, however long the clock runs', async () => {
    broker = await startBroker({ clock: 'manual' });
    const clock = broker.clock as ManualClock;
    const c = await RawClient.open(broker.port, broker.host, { heartbeat: 10 }, [1]);
    for (let i = 0; i < 12; i++) {
      c.rawFrame(8, 0, Buffer.alloc(0));
      // a round trip: the server has read the heartbeat before time moves on
      c.method(1, BASIC_QOS, { prefetchCount: 1 });
      await c.expectMethod(BASIC_QOS_OK, 1);
      clock.advance(5000);
    }
    expect(c.closedAt).toBeUndefined();
    c.destroy();
  });
});
