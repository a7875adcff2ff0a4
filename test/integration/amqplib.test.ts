// amqplib, both its promise and callback APIs, against the broker over TCP.
import amqp from 'amqplib';
import amqpCallback from 'amqplib/callback_api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';
import { RawClient } from '../support/raw-client.js';

let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker();
});
afterAll(() => broker.close());

describe('amqplib channel API', () => {
  it('connects, sees RabbitMQ server properties, and closes cleanly', async () => {
    const conn = await amqp.connect(broker.url);
    const props = (conn as unknown as { connection: { serverProperties: Record<string, unknown> } }).connection.serverProperties;
    expect(props.product).toBe('RabbitMQ');
    expect(props.capabilities).toMatchObject({ publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true });
    await conn.close();
  });

  it('opens and closes 2047 channels on one connection', async () => {
    const conn = await amqp.connect(broker.url);
    const channels = await Promise.all(Array.from({ length: 2047 }, () => conn.createChannel()));
    expect(channels).toHaveLength(2047);
    await expect(conn.createChannel()).rejects.toThrow(/No channels left to allocate/);
    await Promise.all(channels.map((ch) => ch.close()));
    const again = await conn.createChannel();
    await again.close();
    await conn.close();
  }, 30000);

  it('refuses a wrong password with ACCESS_REFUSED', async () => {
    const url = broker.url.replace('guest:guest', 'guest:wrong');
    await expect(amqp.connect(url)).rejects.toThrow(
      /403 \(ACCESS-REFUSED\) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."/,
    );
  });

  it('refuses an unknown vhost with NOT_ALLOWED', async () => {
    // amqplib reports only that the handshake ended in connection.close ...
    await expect(amqp.connect(broker.url.replace(/\/$/, '/nope'))).rejects.toThrow('Expected ConnectionOpenOk; got <ConnectionClose channel:0>');
    // ... which is the 530 a raw peer sees for the same connection.open
    const raw = await RawClient.connect(broker.port, broker.host);
    await expect(raw.handshake({ vhost: 'nope' })).rejects.toThrow(/got connection.close on channel 0: \{"replyCode":530,"replyText":"NOT_ALLOWED - vhost nope not found"/);
    raw.destroy();
  });

  it('sees a connection error close the connection and its channels', async () => {
    const conn = await amqp.connect(broker.url);
    const closed = new Promise<Error>((resolve) => conn.on('error', resolve));
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    // channel.flow active=false is refused by RabbitMQ with a hard 540
    (ch as unknown as { sendImmediately(method: number, fields: object): void }).sendImmediately(1310740, { active: false });
    const err = await closed;
    expect(err.message).toMatch(/540 \(NOT-IMPLEMENTED\) with message "NOT_IMPLEMENTED - active=false"/);
  });

  it('closes a connection that sends garbage, and keeps the others working', async () => {
    const healthy = await amqp.connect(broker.url);
    const ch = await healthy.createChannel();
    const garbage = await RawClient.connect(broker.port, broker.host);
    garbage.write(Buffer.from('AMQP\x00\x00\x09\x01'));
    garbage.write(Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 11, 0])); // start-ok with a bad frame-end
    garbage.write(Buffer.alloc(64 * 1024, 0xff));
    // the broker gives up on it (RabbitMQ drops a peer that fails the handshake)
    expect(await garbage.closed(10000)).toBeDefined();
    await ch.prefetch(5);
    const again = await healthy.createChannel();
    await again.close();
    await healthy.close();
  });
});

describe('amqplib callback API', () => {
  it('connects, opens a channel, sets qos and closes', async () => {
    await new Promise<void>((resolve, reject) => {
      amqpCallback.connect(broker.url, (err, conn) => {
        if (err) return reject(err);
        conn.createChannel((err2, ch) => {
          if (err2) return reject(err2);
          ch.prefetch(10, false, (err3) => {
            if (err3) return reject(err3);
            ch.close((err4) => {
              if (err4) return reject(err4);
              conn.close((err5) => (err5 ? reject(err5) : resolve()));
            });
          });
        });
      });
    });
  });

  it('reports a refused login to the callback', async () => {
    const err = await new Promise<Error>((resolve) =>
      amqpCallback.connect(broker.url.replace('guest:guest', 'nobody:guest'), (e) => resolve(e)),
    );
    expect(err.message).toMatch(/ACCESS_REFUSED/);
  });
});
