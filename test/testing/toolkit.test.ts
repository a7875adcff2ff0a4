// The testing toolkit of startBroker(): set-up options, reset, inspection, waits, the manual clock,
// faults and in-memory paging, each used the way a test suite would use it.
import amqp from 'amqplib';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type BrokerOptions, type ManualClock, type RunningBroker } from '../../src/index.js';

const run = promisify(execFile);
let started: RunningBroker[] = [];
let connections: amqp.ChannelModel[] = [];

async function broker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const b = await startBroker(options);
  started.push(b);
  return b;
}

async function connect(url: string, options: object = {}): Promise<amqp.ChannelModel> {
  const c = await amqp.connect(url, { noDelay: true, ...options });
  c.on('error', () => {});
  connections.push(c);
  return c;
}

afterEach(async () => {
  for (const c of connections) await c.close().catch(() => {});
  for (const b of started) await b.close();
  started = [];
  connections = [];
});

/** Resolves with the reason amqplib gives when the server closes the connection (or the socket goes). */
const closedWith = (c: amqp.ChannelModel) => new Promise<Error | undefined>((resolve) => c.on('close', resolve));

describe('startBroker options', () => {
  it('returns a URL without a trailing slash, that amqplib, pika and amqp-tools all read as vhost "/"', async () => {
    const b = await broker();
    expect(b.url).toMatch(/^amqp:\/\/guest:guest@127\.0\.0\.1:\d+$/);
    await (await (await connect(b.url)).createChannel()).assertQueue('from-amqplib');
    await run('amqp-declare-queue', ['--url', b.url, '-q', 'from-amqp-tools']);
    const pika = `import pika; c = pika.BlockingConnection(pika.URLParameters('${b.url}')); c.channel().queue_declare('from-pika'); c.close()`;
    await run('/usr/bin/python3', ['-c', pika]);
    expect(b.inspect.queues('/').map((q) => q.name).sort()).toEqual(['from-amqp-tools', 'from-amqplib', 'from-pika']);
  });

  it('creates the users, vhosts and definitions it is given', async () => {
    const b = await broker({
      users: [{ name: 'app', password: 'secret', tags: ['monitoring'] }],
      vhosts: ['tests'],
      definitions: { queues: [{ name: 'from-definitions', vhost: '/', durable: true, auto_delete: false, arguments: {} }] },
    });
    const app = await connect(b.url.replace('guest:guest', 'app:secret'));
    expect((await (await app.createChannel()).checkQueue('from-definitions')).messageCount).toBe(0);
    await (await (await connect(`${b.url}/tests`)).createChannel()).assertQueue('in-tests');
    expect(b.inspect.queues('tests').map((q) => q.name)).toEqual(['in-tests']);
  });

  it('manages users, permissions and vhosts through its own methods', async () => {
    const b = await broker();
    b.addVhost('other');
    b.addUser('reader', 'pw', { permissions: { other: { configure: '', write: '', read: '.*' } } });
    const reader = await connect(`${b.url.replace('guest:guest', 'reader:pw')}/other`);
    const ch = await reader.createChannel();
    ch.on('error', () => {});
    await expect(ch.assertQueue('nope')).rejects.toThrow(/ACCESS_REFUSED/);
    await reader.close();
    b.deleteUser('reader');
    await expect(amqp.connect(b.url.replace('guest:guest', 'reader:pw'))).rejects.toThrow(/ACCESS_REFUSED|403/);
    const gone = closedWith(await connect(`${b.url}/other`));
    b.deleteVhost('other');
    expect((await gone)?.message).toMatch(/320.*vhost 'other' is deleted/);
  });
});

describe('reset()', () => {
  it('goes back to the broker as started, closing connections with 320 as a restart does', async () => {
    const b = await broker({ definitions: { queues: [{ name: 'kept', vhost: '/', durable: true, auto_delete: false, arguments: {} }] } });
    const c = await connect(b.url);
    const ch = await c.createChannel();
    await ch.assertExchange('made', 'fanout');
    await ch.assertQueue('made-too');
    ch.sendToQueue('kept', Buffer.from('x'));
    await b.waitFor.queue('kept', { messages: 1 });
    b.addUser('someone', 'pw');
    const closed = closedWith(c);
    b.reset();
    expect((await closed)?.message).toContain("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
    expect(b.inspect.queues().map((q) => [q.name, q.messages])).toEqual([['kept', 0]]);
    expect(b.inspect.exchanges().map((e) => e.name)).not.toContain('made');
    expect(b.broker.users.list().map((u) => u.name)).toEqual(['guest']);
  });

  it('keeps open connections when asked: they go on working in the emptied vhost', async () => {
    const b = await broker();
    const c = await connect(b.url);
    const ch = await c.createChannel();
    await ch.assertQueue('before');
    b.reset({ connections: 'keep' });
    expect(b.inspect.queues()).toEqual([]);
    await ch.assertQueue('after');
    expect(b.inspect.queues().map((q) => q.name)).toEqual(['after']);
  });
});

describe('inspection', () => {
  it('lists what is declared, connected and consuming', async () => {
    const b = await broker();
    const c = await connect(b.url, { clientProperties: { connection_name: 'inspected' } });
    const ch = await c.createChannel();
    await ch.assertExchange('x', 'topic');
    await ch.assertQueue('q', { durable: false, arguments: { 'x-max-length': 10 } });
    await ch.bindQueue('q', 'x', 'a.#');
    await ch.consume('q', () => {}, { consumerTag: 'tag-1' });
    expect(b.inspect.queue('q')).toMatchObject({ vhost: '/', name: 'q', durable: false, arguments: { 'x-max-length': 10 }, consumers: 1, messages: 0 });
    expect(b.inspect.exchanges().find((e) => e.name === 'x')).toMatchObject({ type: 'topic', durable: true, internal: false });
    expect(b.inspect.bindings()).toEqual([{ vhost: '/', source: 'x', destination: 'q', destinationType: 'queue', routingKey: 'a.#', arguments: {} }]);
    expect(b.inspect.connections()).toMatchObject([{ clientProvidedName: 'inspected', user: 'guest', vhost: '/', channels: 1 }]);
    expect(b.inspect.channels()).toMatchObject([{ number: 1, consumers: 1, unacknowledged: 0 }]);
    expect(b.inspect.consumers()).toMatchObject([{ queue: 'q', consumerTag: 'tag-1', channel: 1, ackRequired: true }]);
  });

  it('peeks at ready and unacknowledged messages without changing their order or redelivered flag', async () => {
    const b = await broker();
    const ch = await (await connect(b.url)).createChannel();
    await ch.assertQueue('q');
    for (const n of [1, 2, 3]) ch.sendToQueue('q', Buffer.from(`m${n}`), { headers: { n }, contentType: 'text/plain' });
    await b.waitFor.queue('q', { messages: 3 });
    const got = await ch.get('q');
    expect(got && got.content.toString()).toBe('m1');
    const peeked = b.inspect.peek('q');
    expect(peeked.ready.map((m) => [m.body.toString(), m.headers.n, m.properties.contentType, m.redelivered])).toEqual([
      ['m2', 2, 'text/plain', false],
      ['m3', 3, 'text/plain', false],
    ]);
    expect(peeked.unacked).toMatchObject([{ routingKey: 'q', deliveryTag: 1, channel: 1, redelivered: false }]);
    expect(peeked.unacked[0].body.toString()).toBe('m1');
    const next = await ch.get('q', { noAck: true });
    expect(next && [next.content.toString(), next.fields.redelivered]).toEqual(['m2', false]);
  });

  it('names the queues there are when asked for one that is not', async () => {
    const b = await broker();
    expect(() => b.inspect.peek('missing')).toThrow("no queue 'missing' in vhost '/' (queues: none)");
  });
});

describe('waits', () => {
  it('waits for messages, consumers, connections and a matching message, event-driven', async () => {
    const b = await broker();
    const waiting = b.waitFor.connections(1);
    const c = await connect(b.url);
    expect((await waiting).length).toBe(1);
    const ch = await c.createChannel();
    await ch.assertQueue('q');
    const three = b.waitFor.queue('q', { messagesReady: 3 });
    const match = b.waitForMessage('q', (m) => m.body.toString() === 'needle');
    for (const body of ['hay', 'needle', 'hay']) ch.sendToQueue('q', Buffer.from(body));
    expect((await three).messagesReady).toBe(3);
    expect((await match).body.toString()).toBe('needle');
    const consumers = b.waitFor.consumers(1, { queue: 'q' });
    await ch.consume('q', () => {});
    expect((await consumers)[0].queue).toBe('q');
  });

  it('times out with what it was waiting for and what it saw', async () => {
    const b = await broker();
    const ch = await (await connect(b.url)).createChannel();
    await ch.assertQueue('q');
    await expect(b.waitFor.queue('q', { messages: 2 }, { timeout: 50 })).rejects.toThrow(
      /timed out after 50 ms waiting for queue 'q' in vhost '\/' to have \{"messages":2\}; last seen: .*"messages":0/,
    );
    await expect(b.waitFor.queue('nope', {}, { timeout: 30 })).rejects.toThrow(/last seen: no queue 'nope' in vhost '\/'/);
  });
});

describe('the manual clock', () => {
  it('runs a dead-letter retry with a 30 s TTL in milliseconds', async () => {
    const b = await broker({ clock: 'manual' });
    const clock = b.clock as ManualClock;
    const ch = await (await connect(`${b.url}?heartbeat=0`)).createChannel();
    await ch.assertQueue('work');
    await ch.assertQueue('retry', { arguments: { 'x-message-ttl': 30_000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'work' } });
    const wall = performance.now();
    ch.sendToQueue('retry', Buffer.from('job'));
    await b.waitFor.queue('retry', { messages: 1 });
    clock.advance(29_999);
    expect(b.inspect.queue('work').messages).toBe(0);
    clock.advance(1);
    const back = await b.waitForMessage('work', () => true);
    expect(back.properties.headers?.['x-death']).toBeDefined();
    expect(performance.now() - wall).toBeLessThan(1000);
  });
});

describe('faults', () => {
  it('closes a connection with a chosen code and text', async () => {
    const b = await broker();
    const c = await connect(b.url, { clientProperties: { connection_name: 'victim' } });
    await connect(b.url, { clientProperties: { connection_name: 'bystander' } });
    const closed = closedWith(c);
    expect(b.faults.closeConnection('victim', 320, 'CONNECTION_FORCED - chaos')).toBe(1);
    expect((await closed)?.message).toMatch(/320 \(CONNECTION-FORCED\) with message "CONNECTION_FORCED - chaos"/);
    expect(b.inspect.connections().map((x) => x.clientProvidedName)).toEqual(['bystander']);
  });

  it('drops a socket without a close frame', async () => {
    const b = await broker();
    const c = await connect(b.url);
    const closed = closedWith(c);
    b.faults.dropConnection();
    const reason = await closed;
    expect(reason?.message ?? '').not.toMatch(/CONNECTION_FORCED/);
    expect(reason).toBeDefined();
  });

  it('blackholes a connection: the TCP link stays, nothing flows, the client notices by heartbeats', async () => {
    const b = await broker();
    const c = await connect(`${b.url}?heartbeat=1`);
    const closed = closedWith(c);
    b.faults.blackhole();
    const started = performance.now();
    expect((await closed)?.message).toMatch(/Heartbeat timeout/);
    // amqplib gives up after two missed 1 s beats
    expect(performance.now() - started).toBeGreaterThan(1500);
    await b.waitFor.connections(0);
  }, 10_000);

  it('raises and clears an alarm: connection.blocked, then unblocked', async () => {
    const b = await broker();
    const c = await connect(b.url);
    const ch = await c.createChannel();
    const blocked = new Promise((resolve) => c.on('blocked', resolve));
    const unblocked = new Promise((resolve) => c.on('unblocked', resolve));
    b.faults.alarm('memory', true);
    ch.sendToQueue('nowhere', Buffer.from('x'));
    expect(await blocked).toBe('low on memory');
    b.faults.alarm('memory', false);
    await unblocked;
  });

  it('cancels a consumer from the server side', async () => {
    const b = await broker();
    const ch = await (await connect(b.url)).createChannel();
    await ch.assertQueue('q');
    const cancelled = new Promise((resolve) => ch.consume('q', (m) => m === null && resolve('cancelled'), { consumerTag: 'c1' }));
    await b.waitFor.consumers(1);
    expect(b.faults.cancelConsumer('c1')).toBe(1);
    expect(await cancelled).toBe('cancelled');
    expect(b.inspect.queue('q').consumers).toBe(0);
  });

  it('refuses new connections for a while, keeping open ones', async () => {
    const b = await broker();
    const open = await connect(b.url);
    const back = b.faults.refuseConnections(100);
    await expect(amqp.connect(b.url)).rejects.toThrow(/ECONNREFUSED/);
    await back;
    await connect(b.url);
    await (await open.createChannel()).assertQueue('still-works');
  });

  it('restarts keeping durable state, on the same port', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-restart-'));
    try {
      const b = await broker({ dataDir });
      const c = await connect(b.url);
      const ch = await c.createConfirmChannel();
      await ch.assertQueue('durable', { durable: true });
      await ch.assertQueue('transient', { durable: false });
      await new Promise((resolve, reject) => ch.sendToQueue('durable', Buffer.from('kept'), { persistent: true }, (err) => (err ? reject(err) : resolve(0))));
      const closed = closedWith(c);
      await b.restart();
      expect((await closed)?.message).toMatch(/320/);
      const again = await (await connect(b.url)).createChannel();
      const m = await again.get('durable');
      expect(m && [m.content.toString(), m.fields.redelivered]).toEqual(['kept', false]);
      expect(b.inspect.queues().map((q) => q.name)).toEqual(['durable']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('in-memory brokers', () => {
  it('page a long queue out to a private temporary directory, removed at close', async () => {
    const b = await broker();
    const dir = (b.broker.pager as unknown as { dir: string }).dir;
    const ch = await (await connect(b.url)).createChannel();
    await ch.assertQueue('long');
    const body = Buffer.alloc(100);
    for (let i = 0; i < 20_000; i++) ch.sendToQueue('long', body);
    await b.waitFor.queue('long', { messages: 20_000 }, { timeout: 20_000 });
    expect(b.inspect.peek('long', { limit: 1 }).pagedOut).toBeGreaterThan(0);
    expect(existsSync(dir)).toBe(true);
    const drained = await ch.get('long', { noAck: true });
    expect(drained && drained.content.length).toBe(100);
    await b.close();
    started = started.filter((x) => x !== b);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);

  it('page a priority queue too, level by level, delivering highest priority first and FIFO within one', async () => {
    const b = await broker();
    const ch = await (await connect(b.url)).createChannel();
    await ch.assertQueue('prio', { arguments: { 'x-max-priority': 3 } });
    for (let i = 0; i < 20_000; i++) ch.sendToQueue('prio', Buffer.from(String(i)), { priority: i % 4 });
    await b.waitFor.queue('prio', { messages: 20_000 }, { timeout: 20_000 });
    expect(b.inspect.peek('prio', { limit: 1 }).pagedOut).toBeGreaterThan(0);
    await ch.prefetch(500);
    const got: number[] = [];
    await new Promise<void>((resolve) => {
      void ch.consume('prio', (m) => {
        got.push(Number(m!.content.toString()));
        ch.ack(m!);
        if (got.length === 20_000) resolve();
      });
    });
    // all of priority 3 first (in publish order), then 2, 1, 0
    const expected = [3, 2, 1, 0].flatMap((p) => Array.from({ length: 5000 }, (_, k) => k * 4 + p));
    expect(got).toEqual(expected);
    await b.waitFor.queue('prio', { messages: 0 });
  }, 60_000);
});
