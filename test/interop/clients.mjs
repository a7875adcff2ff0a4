// The interop scenarios, written once against a small adapter, and an adapter per Node client: each
// client drives the broker through connect, declare, publish, consume, ack, reject/requeue,
// confirms, RPC with direct reply-to, heartbeats and TLS, with its own API.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A package's version, from the package.json above its entry point (not every package exports it). */
function versionOf(pkg) {
  for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (json.name === pkg) return json.version;
    } catch {
      // no package.json here: go up
    }
  }
  return '?';
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const unique = (what) => `interop-${what}-${Math.random().toString(36).slice(2, 8)}`;

/** Polls `get` until it gives a message (basic.get answers get-empty until the message is there). */
async function getOne(s, q, noAck) {
  for (let i = 0; i < 200; i++) {
    const m = await s.get(q, noAck);
    if (m) return m;
    await pause(10);
  }
  throw new Error(`no message in ${q}`);
}

function expect(condition, what) {
  if (!condition) throw new Error(what);
}

/** The scenarios: feature name → what it does with a session of the adapter. */
export const FEATURES = {
  connect: async (a, env) => {
    const s = await a.open(env.url);
    await s.close();
  },
  declare: async (a, env) => {
    const s = await a.open(env.url);
    const q = unique('declare');
    await s.declare(q);
    expect((await s.declare(q)) === 0, 'a redeclared empty queue has no messages');
    await s.remove(q);
    await s.close();
  },
  'publish and consume': async (a, env) => {
    const s = await a.open(env.url);
    const q = unique('consume');
    await s.declare(q);
    const got = new Promise((resolve) => s.consume(q, (m) => resolve(m), true));
    await s.publish(q, 'hello', { contentType: 'text/plain' });
    const m = await got;
    expect(m.body === 'hello', `consumed ${m.body}`);
    await s.remove(q);
    await s.close();
  },
  ack: async (a, env) => {
    const s = await a.open(env.url);
    const q = unique('ack');
    await s.declare(q);
    await s.publish(q, 'to ack');
    const m = await getOne(s, q, false);
    await m.ack();
    await pause(50);
    expect((await s.declare(q)) === 0, 'the acked message is gone');
    await s.remove(q);
    await s.close();
  },
  'reject and requeue': async (a, env) => {
    const s = await a.open(env.url);
    const q = unique('requeue');
    await s.declare(q);
    await s.publish(q, 'again');
    const first = await getOne(s, q, false);
    expect(!first.redelivered, 'first delivery is not redelivered');
    await first.nack(true);
    const second = await getOne(s, q, true);
    expect(second.redelivered && second.body === 'again', 'the requeued message comes back redelivered');
    await s.remove(q);
    await s.close();
  },
  confirms: async (a, env) => {
    const s = await a.open(env.url);
    const q = unique('confirm');
    await s.declare(q);
    await s.confirmPublish(q, 'confirmed');
    expect((await s.declare(q)) === 1, 'the confirmed message is in the queue');
    await s.remove(q);
    await s.close();
  },
  'RPC with direct reply-to': async (a, env) => {
    const server = await a.open(env.url);
    const client = await a.open(env.url);
    const q = unique('rpc');
    await server.declare(q);
    await server.consume(q, (m) => server.publish(m.replyTo, `re: ${m.body}`), true);
    const reply = new Promise((resolve) => client.consume('amq.rabbitmq.reply-to', (m) => resolve(m.body), true));
    await pause(20);
    await client.publish(q, 'ping', { replyTo: 'amq.rabbitmq.reply-to' });
    expect((await reply) === 're: ping', 'the reply comes back through amq.rabbitmq.reply-to');
    await server.remove(q);
    await client.close();
    await server.close();
  },
  heartbeats: async (a, env) => {
    const s = await a.open(env.url, { heartbeat: 1 });
    // two intervals without traffic of ours: the broker's heartbeats and the client's keep it open
    await pause(2500);
    const q = unique('heartbeat');
    await s.declare(q);
    await s.remove(q);
    await s.close();
  },
  TLS: async (a, env) => {
    const s = await a.open(env.tlsUrl, { ca: env.ca });
    const q = unique('tls');
    await s.declare(q);
    await s.remove(q);
    await s.close();
  },
};

const withHeartbeat = (url, opts) => (opts.heartbeat ? `${url}${url.includes('?') ? '&' : '?'}heartbeat=${opts.heartbeat}` : url);

function amqplibSession(conn, ch) {
  return {
    declare: async (q) => (await ch.assertQueue(q, { durable: false })).messageCount,
    remove: (q) => ch.deleteQueue(q),
    publish: async (q, body, props = {}) => void ch.sendToQueue(q, Buffer.from(body), props),
    get: async (q, noAck) => {
      const m = await ch.get(q, { noAck });
      return m ? { body: m.content.toString(), redelivered: m.fields.redelivered, ack: async () => ch.ack(m), nack: async (requeue) => ch.nack(m, false, requeue) } : undefined;
    },
    consume: (q, on, noAck) => ch.consume(q, (m) => m && on({ body: m.content.toString(), replyTo: m.properties.replyTo }), { noAck }),
    confirmPublish: async (q, body) => {
      const cc = await conn.createConfirmChannel();
      await new Promise((resolve, reject) => cc.sendToQueue(q, Buffer.from(body), {}, (err) => (err ? reject(err) : resolve())));
      await cc.close();
    },
    close: () => conn.close(),
  };
}

/** amqplib, its promise API. */
const amqplibPromise = {
  version: () => versionOf('amqplib'),
  async open(url, opts = {}) {
    const conn = await require('amqplib').connect(withHeartbeat(url, opts), { noDelay: true, ca: opts.ca ? [opts.ca] : undefined });
    return amqplibSession(conn, await conn.createChannel());
  },
};

/** amqplib, its callback API (each call made with a callback, wrapped here only to sequence the scenario). */
const amqplibCallback = {
  version: () => versionOf('amqplib'),
  async open(url, opts = {}) {
    const api = require('amqplib/callback_api');
    const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
    const conn = await call((cb) => api.connect(withHeartbeat(url, opts), { noDelay: true, ca: opts.ca ? [opts.ca] : undefined }, cb));
    const ch = await call((cb) => conn.createChannel(cb));
    return {
      declare: async (q) => (await call((cb) => ch.assertQueue(q, { durable: false }, cb))).messageCount,
      remove: (q) => call((cb) => ch.deleteQueue(q, {}, cb)),
      publish: async (q, body, props = {}) => void ch.sendToQueue(q, Buffer.from(body), props),
      get: async (q, noAck) => {
        const m = await call((cb) => ch.get(q, { noAck }, cb));
        return m ? { body: m.content.toString(), redelivered: m.fields.redelivered, ack: async () => ch.ack(m), nack: async (requeue) => ch.nack(m, false, requeue) } : undefined;
      },
      consume: (q, on, noAck) => call((cb) => ch.consume(q, (m) => m && on({ body: m.content.toString(), replyTo: m.properties.replyTo }), { noAck }, cb)),
      confirmPublish: async (q, body) => {
        const cc = await call((cb) => conn.createConfirmChannel(cb));
        await call((cb) => cc.sendToQueue(q, Buffer.from(body), {}, cb));
        await call((cb) => cc.close(cb));
      },
      close: () => call((cb) => conn.close(cb)),
    };
  },
};

/** @cloudamqp/amqp-client. */
const cloudamqp = {
  version: () => versionOf('@cloudamqp/amqp-client'),
  async open(url, opts = {}) {
    const { AMQPClient } = await import('@cloudamqp/amqp-client');
    const client = new AMQPClient(withHeartbeat(url, opts), opts.ca ? { ca: opts.ca } : undefined);
    const conn = await client.connect();
    const ch = await conn.channel();
    const text = (m) => m.bodyToString();
    return {
      declare: async (q) => (await ch.queueDeclare(q, { durable: false })).messageCount,
      remove: (q) => ch.queueDelete(q),
      publish: async (q, body, props = {}) => void (await ch.basicPublish('', q, body, props)),
      get: async (q, noAck) => {
        const m = await ch.basicGet(q, { noAck });
        return m ? { body: text(m), redelivered: m.redelivered, ack: () => m.ack(), nack: (requeue) => m.nack(requeue) } : undefined;
      },
      consume: (q, on, noAck) => ch.basicConsume(q, { noAck }, (m) => on({ body: text(m), replyTo: m.properties.replyTo })),
      confirmPublish: async (q, body) => {
        const cc = await conn.channel();
        await cc.confirmSelect();
        await cc.basicPublish('', q, body);
        await cc.close();
      },
      close: () => conn.close(),
    };
  },
};

/** rabbitmq-client. */
const rabbitmqClient = {
  version: () => versionOf('rabbitmq-client'),
  async open(url, opts = {}) {
    const { Connection } = require('rabbitmq-client');
    const u = new URL(url);
    const rabbit = new Connection({
      url: u.protocol === 'amqps:' ? undefined : url,
      hostname: u.hostname,
      port: Number(u.port),
      username: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      tls: u.protocol === 'amqps:' ? { ca: opts.ca } : undefined,
      ...(opts.heartbeat === undefined ? {} : { heartbeat: opts.heartbeat }),
      retryLow: 100,
      retryHigh: 200,
    });
    rabbit.on('error', () => {});
    await rabbit.onConnect(5000, true);
    const ch = await rabbit.acquire();
    const text = (m) => (Buffer.isBuffer(m.body) ? m.body.toString() : typeof m.body === 'string' ? m.body : JSON.stringify(m.body));
    return {
      declare: async (q) => (await ch.queueDeclare({ queue: q, durable: false })).messageCount,
      remove: (q) => ch.queueDelete({ queue: q }),
      publish: (q, body, props = {}) => ch.basicPublish({ routingKey: q, ...props }, Buffer.from(body)),
      get: async (q, noAck) => {
        const m = await ch.basicGet({ queue: q, noAck });
        return m ? { body: text(m), redelivered: m.redelivered, ack: async () => ch.basicAck({ deliveryTag: m.deliveryTag }), nack: async (requeue) => ch.basicNack({ deliveryTag: m.deliveryTag, requeue }) } : undefined;
      },
      consume: (q, on, noAck) => ch.basicConsume({ queue: q, noAck }, (m) => on({ body: text(m), replyTo: m.replyTo })),
      confirmPublish: async (q, body) => {
        const cc = await rabbit.acquire();
        await cc.confirmSelect();
        await cc.basicPublish({ routingKey: q }, Buffer.from(body));
        await cc.close();
      },
      close: async () => {
        await ch.close();
        await rabbit.close();
      },
    };
  },
};

/** amqp-connection-manager (amqplib underneath, its channel wrapper's setup hands over the channel). */
const connectionManager = {
  version: () => versionOf('amqp-connection-manager'),
  async open(url, opts = {}) {
    const acm = require('amqp-connection-manager');
    const conn = acm.connect([withHeartbeat(url, opts)], { connectionOptions: { noDelay: true, ca: opts.ca ? [opts.ca] : undefined } });
    conn.on('connectFailed', () => {});
    let channel;
    const wrapper = conn.createChannel({ json: false, setup: (ch) => (channel = ch) });
    await wrapper.waitForConnect();
    const session = amqplibSession(await conn.connection, channel);
    return {
      ...session,
      publish: async (q, body, props = {}) => void (await wrapper.sendToQueue(q, Buffer.from(body), props)),
      // the wrapper publishes with confirms: its promise is the broker's confirm
      confirmPublish: (q, body) => wrapper.sendToQueue(q, Buffer.from(body)),
      close: async () => {
        await wrapper.close();
        await conn.close();
      },
    };
  },
};

export const NODE_CLIENTS = {
  'amqplib (promise API)': amqplibPromise,
  'amqplib (callback API)': amqplibCallback,
  '@cloudamqp/amqp-client': cloudamqp,
  'rabbitmq-client': rabbitmqClient,
  'amqp-connection-manager': connectionManager,
};

/**
 * rascal: configuration-driven (vhosts, queues, publications, subscriptions set up front), so its
 * scenarios are its own; confirms are its publications' default, and it has no direct reply-to.
 */
async function rascalBroker(url, { heartbeat, ca } = {}, queue) {
  const { BrokerAsPromised, withDefaultConfig } = require('rascal');
  const vhost = {
    connection: { url: withHeartbeat(url, { heartbeat }), socketOptions: ca ? { ca: [ca] } : {}, retry: { max: 0 } },
    ...(queue
      ? {
          queues: { [queue]: { assert: true, options: { durable: false } } },
          publications: { p: { queue } },
          subscriptions: { s: { queue, prefetch: 1 } },
        }
      : {}),
  };
  const broker = await BrokerAsPromised.create(withDefaultConfig({ vhosts: { '/': vhost } }));
  broker.on('error', () => {});
  return broker;
}

/** The queue's message count, through the connection rascal hands out (amqplib's callback API). */
async function messageCount(broker, q) {
  const conn = await broker.connect('/');
  const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
  const ch = await call((cb) => conn.createChannel(cb));
  const { messageCount: count } = await call((cb) => ch.checkQueue(q, cb));
  await call((cb) => conn.close(cb));
  return count;
}

const published = (publication) => new Promise((resolve, reject) => publication.on('success', resolve).on('error', reject).on('return', () => reject(new Error('returned'))));

/** The messages a subscription gets, handed to `on(message, content, ackOrNack)` one by one. */
async function subscribe(broker, on) {
  const sub = await broker.subscribe('s');
  sub.on('message', on).on('error', () => {});
  return sub;
}

export const RASCAL = {
  version: () => versionOf('rascal'),
  features: {
    connect: async (env) => (await rascalBroker(env.url)).shutdown(),
    declare: async (env) => {
      const q = unique('declare');
      const broker = await rascalBroker(env.url, {}, q);
      expect((await messageCount(broker, q)) === 0, 'the declared queue is there, empty');
      await broker.shutdown();
    },
    'publish and consume': async (env) => {
      const broker = await rascalBroker(env.url, {}, unique('consume'));
      const got = new Promise((resolve) => subscribe(broker, (m, content, ackOrNack) => (ackOrNack(), resolve(content))));
      await published(await broker.publish('p', 'hello'));
      expect((await got) === 'hello', 'the message is consumed');
      await broker.shutdown();
    },
    ack: async (env) => {
      const q = unique('ack');
      const broker = await rascalBroker(env.url, {}, q);
      const acked = new Promise((resolve) => subscribe(broker, (m, content, ackOrNack) => (ackOrNack(), resolve())));
      await published(await broker.publish('p', 'to ack'));
      await acked;
      await pause(50);
      expect((await messageCount(broker, q)) === 0, 'the acked message is gone');
      await broker.shutdown();
    },
    'reject and requeue': async (env) => {
      const broker = await rascalBroker(env.url, {}, unique('requeue'));
      const seen = [];
      const twice = new Promise((resolve) =>
        subscribe(broker, (m, content, ackOrNack) => {
          seen.push(m.fields.redelivered);
          if (seen.length === 1) ackOrNack(new Error('not yet'), { strategy: 'nack', requeue: true });
          else (ackOrNack(), resolve());
        }),
      );
      await published(await broker.publish('p', 'again'));
      await twice;
      expect(seen[0] === false && seen[1] === true, `redelivered flags ${seen}`);
      await broker.shutdown();
    },
    confirms: async (env) => {
      const broker = await rascalBroker(env.url, {}, unique('confirm'));
      // a publication's success is the broker's confirm
      await published(await broker.publish('p', 'confirmed'));
      await broker.shutdown();
    },
    heartbeats: async (env) => {
      const broker = await rascalBroker(env.url, { heartbeat: 1 }, unique('heartbeat'));
      await pause(2500);
      await published(await broker.publish('p', 'still here'));
      await broker.shutdown();
    },
    TLS: async (env) => {
      const broker = await rascalBroker(env.tlsUrl, { ca: env.ca }, unique('tls'));
      await published(await broker.publish('p', 'over tls'));
      await broker.shutdown();
    },
  },
};
