// Exchanges, queues and bindings (the exchange and queue classes, exchange-to-exchange bindings,
// alternate and internal exchanges) and the routing of every exchange type, as RabbitMQ 3.10 behaves.
// Written against RabbitMQ and run against it too:
// AMQP_URL=amqp://guest:guest@127.0.0.1:5682/ npx vitest run test/conformance/exchanges-queues.test.ts
// amqplib drives every case; RawClient only checks the class and method of a connection.close amqplib
// does not show. Field-table types in the expected texts ('byte', 'short', 'longstr') are the types
// amqplib picks for JS values: 10 goes out as a signed byte, 1000 as a short, 100000 as a signed int.
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_CLOSE, CONNECTION_CLOSE_OK, EXCHANGE_DECLARE } from '../../src/protocol/generated/spec.js';
import { RawClient } from '../support/raw-client.js';
import { scenarioSuite } from '../support/session.js';
import { expectChannelError, expectConnectionError, sleep, waitFor } from '../support/scenario.js';

const suite = scenarioSuite();

// ---------------------------------------------------------------------------------------------------
// Bookkeeping: every connection a test opens is closed after it, every exchange and queue it declares
// is deleted (deleting what is already gone is fine).

const raws = () => suite.session.raws;
const queues = () => suite.session.queues;
const exchanges = () => suite.session.exchanges;
const admin = () => suite.session.admin();
const connection = () => suite.session.connection();
const channel = (conn?: ChannelModel) => suite.session.channel(conn);
const counts = (q: string) => suite.session.counts(q);
const waitForCount = (q: string, n: number, timeoutMs?: number) => suite.session.waitForCount(q, n, timeoutMs);
const confirmChannel = (conn?: ChannelModel) => suite.session.confirmChannel(conn);
const open = () => suite.session.open();

const unique = (prefix: string) => `warren-xq-${prefix}-${randomBytes(6).toString('hex')}`;

/** A name to declare, deleted (as exchange) after the test. */
function exchangeName(prefix = 'x'): string {
  const name = unique(prefix);
  exchanges().push(name);
  return name;
}

/** A name to declare, deleted (as queue) after the test. */
function queueName(prefix = 'q'): string {
  const name = unique(prefix);
  queues().push(name);
  return name;
}

/** A non-durable exchange, deleted after the test. */
async function exchange(type: string, options: amqp.Options.AssertExchange = {}, ch?: Channel): Promise<string> {
  const name = exchangeName(`x-${type}`);
  await (ch ?? (await admin())).assertExchange(name, type, { durable: false, autoDelete: false, ...options });
  return name;
}

/** A non-durable, non-exclusive queue, deleted after the test. */
async function queue(options: amqp.Options.AssertQueue = {}, ch?: Channel): Promise<string> {
  const name = queueName();
  await (ch ?? (await admin())).assertQueue(name, { durable: false, autoDelete: false, ...options });
  return name;
}

/** Time for the broker to do anything more it was going to do (to check that it does not). */
const settle = () => sleep(100);

/** Whether an exchange exists, by a passive declare on a throwaway channel. */
async function exchangeExists(name: string): Promise<boolean> {
  await admin();
  const ch = await channel(suite.session.adminConn);
  try {
    await ch.checkExchange(name);
    await ch.close();
    return true;
  } catch (e) {
    expect((e as Error).message).toContain(`404 (NOT-FOUND) with message "NOT_FOUND - no exchange '${name}' in vhost '/'"`);
    return false;
  }
}

/** Whether a queue exists, by a passive declare on a throwaway channel. */
async function queueExists(name: string): Promise<boolean> {
  await admin();
  const ch = await channel(suite.session.adminConn);
  try {
    await ch.checkQueue(name);
    await ch.close();
    return true;
  } catch (e) {
    expect((e as Error).message).toContain(`404 (NOT-FOUND) with message "NOT_FOUND - no queue '${name}' in vhost '/'"`);
    return false;
  }
}

async function waitForQueueGone(name: string, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while ((await queueExists(name)) && Date.now() < deadline) await sleep(10);
  expect(await queueExists(name)).toBe(false);
}

/** Every message body in a queue, taken with basic.get no-ack until it is empty. */
async function drain(ch: Channel, q: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (m === false) return bodies;
    bodies.push(m.content.toString());
  }
}

/** Publishes on a confirm channel and waits for the confirm: by then RabbitMQ has routed and enqueued it. */
async function publish(ch: ConfirmChannel, exchange: string, routingKey: string, body: string, options: amqp.Options.Publish = {}) {
  ch.publish(exchange, routingKey, Buffer.from(body), options);
  await ch.waitForConfirms();
}

/** A server-named exclusive queue on `ch`'s connection, bound to `exchange` with `key` (and `args`). */
async function boundQueue(ch: Channel, exchange: string, key: string, args?: Record<string, unknown>): Promise<string> {
  const { queue: q } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q, exchange, key, args);
  return q;
}

const notFoundExchange = (x: string) => `NOT_FOUND - no exchange '${x}' in vhost '/'`;
const notFoundQueue = (q: string) => `NOT_FOUND - no queue '${q}' in vhost '/'`;
const defaultExchangeRefused = 'ACCESS_REFUSED - operation not permitted on the default exchange';
const locked = (q: string) =>
  `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally ` +
  'declared on another connection or the exclusive property value does not match that of the original declaration.';

// ---------------------------------------------------------------------------------------------------

describe('exchange.declare', () => {
  it.each(['direct', 'fanout', 'topic', 'headers'])('declares a %s exchange, which then exists and takes messages', async (type) => {
    const ch = await confirmChannel();
    const name = exchangeName(type);
    expect(await ch.assertExchange(name, type, { durable: false, autoDelete: false })).toEqual({ exchange: name });
    expect(await ch.checkExchange(name)).toEqual({});
    await publish(ch, name, 'k', 'hello');
    // and its type is the one declared: the same declaration is accepted, another type is not
    expect(await ch.assertExchange(name, type, { durable: false, autoDelete: false })).toEqual({ exchange: name });
  });

  it('declares a durable exchange', async () => {
    const ch = await channel();
    const name = exchangeName('durable');
    await ch.assertExchange(name, 'direct', { durable: true, autoDelete: false });
    await ch.assertExchange(name, 'direct', { durable: true, autoDelete: false });
    await ch.checkExchange(name);
  });

  it('accepts a redeclaration with the same type, flags and arguments', async () => {
    const ch = await channel();
    const ae = await exchange('fanout');
    const name = await exchange('topic', { alternateExchange: ae });
    expect(await ch.assertExchange(name, 'topic', { durable: false, autoDelete: false, alternateExchange: ae })).toEqual({ exchange: name });
    // arguments RabbitMQ does not know are not compared
    expect(await ch.assertExchange(name, 'topic', { durable: false, autoDelete: false, alternateExchange: ae, arguments: { foo: 1 } })).toEqual({
      exchange: name,
    });
  });

  it.each([
    ['type', { type: 'fanout' }, "inequivalent arg 'type' for exchange '%s' in vhost '/': received 'fanout' but current is 'direct'"],
    ['durable', { durable: true }, "inequivalent arg 'durable' for exchange '%s' in vhost '/': received 'true' but current is 'false'"],
    ['auto-delete', { autoDelete: true }, "inequivalent arg 'auto_delete' for exchange '%s' in vhost '/': received 'true' but current is 'false'"],
    ['internal', { internal: true }, "inequivalent arg 'internal' for exchange '%s' in vhost '/': received 'true' but current is 'false'"],
    [
      'type and durable (the type is reported)',
      { type: 'topic', durable: true },
      "inequivalent arg 'type' for exchange '%s' in vhost '/': received 'topic' but current is 'direct'",
    ],
  ])('closes the channel with 406 on a redeclaration with another %s', async (_what, change: Record<string, unknown>, text) => {
    const name = await exchange('direct');
    const { conn, ch } = await open();
    const { type = 'direct', ...flags } = change;
    await expectChannelError(
      conn,
      ch,
      () => ch.assertExchange(name, type as string, { durable: false, autoDelete: false, internal: false, ...flags }),
      406,
      `PRECONDITION_FAILED - ${text.replace('%s', name)}`,
      40,
      10,
    );
    // the exchange is unchanged
    await (await admin()).assertExchange(name, 'direct', { durable: false, autoDelete: false });
  });

  it('closes the channel with 406 when the alternate-exchange argument is added, changed or removed', async () => {
    const plain = await exchange('direct');
    const withAe = await exchange('direct', { alternateExchange: 'ae1' });
    let { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.assertExchange(plain, 'direct', { durable: false, autoDelete: false, alternateExchange: 'foo' }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${plain}' in vhost '/': received the value 'foo' of type 'longstr' but current is none`,
      40,
      10,
    );
    ({ conn, ch } = await open());
    await expectChannelError(
      conn,
      ch,
      () => ch.assertExchange(withAe, 'direct', { durable: false, autoDelete: false, alternateExchange: 'ae2' }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${withAe}' in vhost '/': received 'ae2' but current is 'ae1'`,
      40,
      10,
    );
    ({ conn, ch } = await open());
    await expectChannelError(
      conn,
      ch,
      () => ch.assertExchange(withAe, 'direct', { durable: false, autoDelete: false }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange '${withAe}' in vhost '/': received none but current is the value 'ae1' of type 'longstr'`,
      40,
      10,
    );
  });

  it('closes the channel with 403 on a new name starting with "amq."', async () => {
    const { conn, ch } = await open();
    const name = `amq.${unique('x')}`;
    await expectChannelError(
      conn,
      ch,
      () => ch.assertExchange(name, 'direct', { durable: false }),
      403,
      `ACCESS_REFUSED - exchange name '${name}' contains reserved prefix 'amq.*'`,
      40,
      10,
    );
  });

  it('treats the "amq." prefix case-sensitively: "AMQ.x" may be declared', async () => {
    const ch = await channel();
    const name = `AMQ.${unique('x')}`;
    exchanges().push(name);
    expect(await ch.assertExchange(name, 'direct', { durable: false })).toEqual({ exchange: name });
  });

  it('accepts an equivalent redeclaration of a predeclared amq.* exchange, and 406s a different one', async () => {
    const ch = await channel();
    expect(await ch.assertExchange('amq.direct', 'direct', { durable: true })).toEqual({ exchange: 'amq.direct' });
    expect(await ch.assertExchange('amq.fanout', 'fanout', { durable: true })).toEqual({ exchange: 'amq.fanout' });
    expect(await ch.assertExchange('amq.topic', 'topic', { durable: true })).toEqual({ exchange: 'amq.topic' });
    expect(await ch.assertExchange('amq.headers', 'headers', { durable: true })).toEqual({ exchange: 'amq.headers' });
    expect(await ch.assertExchange('amq.match', 'headers', { durable: true })).toEqual({ exchange: 'amq.match' });
    expect(await ch.assertExchange('amq.rabbitmq.trace', 'topic', { durable: true, internal: true })).toEqual({ exchange: 'amq.rabbitmq.trace' });
    let { conn, ch: c2 } = await open();
    await expectChannelError(
      conn,
      c2,
      () => c2.assertExchange('amq.direct', 'direct', { durable: false }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'amq.direct' in vhost '/': received 'false' but current is 'true'",
      40,
      10,
    );
    ({ conn, ch: c2 } = await open());
    await expectChannelError(
      conn,
      c2,
      () => c2.assertExchange('amq.direct', 'fanout', { durable: true }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'fanout' but current is 'direct'",
      40,
      10,
    );
    ({ conn, ch: c2 } = await open());
    await expectChannelError(
      conn,
      c2,
      () => c2.assertExchange('amq.rabbitmq.trace', 'topic', { durable: true }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'amq.rabbitmq.trace' in vhost '/': received 'false' but current is 'true'",
      40,
      10,
    );
  });

  it('closes the channel with 403 on a declaration of the default exchange ""', async () => {
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.assertExchange('', 'direct', { durable: true }), 403, defaultExchangeRefused, 40, 10);
  });

  it('closes the channel with 403 on a passive declaration of the default exchange ""', async () => {
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.checkExchange(''), 403, defaultExchangeRefused, 40, 10);
  });

  it('closes the channel with 404 on a passive declaration of a missing exchange', async () => {
    const { conn, ch } = await open();
    const name = unique('missing');
    await expectChannelError(conn, ch, () => ch.checkExchange(name), 404, notFoundExchange(name), 40, 10);
  });

  it('answers a passive declaration of an existing exchange, whatever its type and flags', async () => {
    const name = await exchange('headers', { internal: true, autoDelete: false });
    const ch = await channel();
    expect(await ch.checkExchange(name)).toEqual({});
  });

  it('closes the connection with 503 on an unknown exchange type', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    const name = exchangeName('badtype');
    await expectConnectionError(conn, () => ch.assertExchange(name, 'foo', { durable: false }), 503, "COMMAND_INVALID - invalid exchange type 'foo'");
    expect(await exchangeExists(name)).toBe(false);
  });

  it.each(['x-delayed-message', 'x-consistent-hash', 'direct2'])('calls a plugin or made-up type %s unknown', async (type) => {
    const conn = await connection();
    const ch = await channel(conn);
    await expectConnectionError(conn, () => ch.assertExchange(exchangeName('badtype'), type, { durable: false }), 503, `COMMAND_INVALID - unknown exchange type '${type}'`);
  });

  it('closes the connection with 503 on an empty exchange type', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    await expectConnectionError(conn, () => ch.assertExchange(exchangeName('badtype'), '', { durable: false }), 503, "COMMAND_INVALID - invalid exchange type ''");
  });

  it('checks the type before the name: 503 even when the exchange exists', async () => {
    const conn = await connection();
    const ch = await channel(conn);
    await expectConnectionError(conn, () => ch.assertExchange('amq.direct', 'foo', { durable: true }), 503, "COMMAND_INVALID - invalid exchange type 'foo'");
  });

  it('sends the 503 as connection.close naming exchange.declare (40, 10)', async () => {
    const c = await RawClient.open(suite.broker.port, suite.broker.host, {}, [1]);
    raws().push(c);
    c.method(1, EXCHANGE_DECLARE, { exchange: exchangeName('badtype'), type: 'foo' });
    expect(await c.expectMethod(CONNECTION_CLOSE)).toEqual({
      replyCode: 503,
      replyText: "COMMAND_INVALID - invalid exchange type 'foo'",
      classId: 40,
      methodId: 10,
    });
    c.method(0, CONNECTION_CLOSE_OK, {});
    expect(await c.closed(2000)).toBeDefined();
  });

  it.each(['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace'])('predeclares %s', async (name) => {
    const ch = await channel();
    expect(await ch.checkExchange(name)).toEqual({});
  });
});

describe('exchange.delete', () => {
  it('deletes an exchange', async () => {
    const name = await exchange('direct');
    const ch = await channel();
    expect(await ch.deleteExchange(name)).toEqual({});
    expect(await exchangeExists(name)).toBe(false);
  });

  it('answers delete-ok for a missing exchange, with or without if-unused', async () => {
    const ch = await channel();
    expect(await ch.deleteExchange(unique('missing'))).toEqual({});
    expect(await ch.deleteExchange(unique('missing'), { ifUnused: true })).toEqual({});
  });

  it('closes the channel with 406 on if-unused when a queue is bound to it', async () => {
    const name = await exchange('direct');
    const q = await queue();
    await (await admin()).bindQueue(q, name, 'k');
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.deleteExchange(name, { ifUnused: true }),
      406,
      `PRECONDITION_FAILED - exchange '${name}' in vhost '/' in use`,
      40,
      20,
    );
    expect(await exchangeExists(name)).toBe(true);
  });

  it('closes the channel with 406 on if-unused when it is the source of an exchange binding', async () => {
    const source = await exchange('direct');
    const destination = await exchange('direct');
    await (await admin()).bindExchange(destination, source, 'k');
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.deleteExchange(source, { ifUnused: true }),
      406,
      `PRECONDITION_FAILED - exchange '${source}' in vhost '/' in use`,
      40,
      20,
    );
  });

  it('deletes with if-unused an exchange that is only the destination of a binding', async () => {
    const source = await exchange('direct');
    const destination = await exchange('direct');
    await (await admin()).bindExchange(destination, source, 'k');
    const ch = await channel();
    expect(await ch.deleteExchange(destination, { ifUnused: true })).toEqual({});
    expect(await exchangeExists(destination)).toBe(false);
  });

  it('deletes with if-unused an exchange without bindings', async () => {
    const name = await exchange('fanout');
    const ch = await channel();
    expect(await ch.deleteExchange(name, { ifUnused: true })).toEqual({});
    expect(await exchangeExists(name)).toBe(false);
  });

  it('closes the channel with 403 on the default exchange', async () => {
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.deleteExchange(''), 403, defaultExchangeRefused, 40, 20);
  });

  it.each(['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace'])('closes the channel with 403 on %s', async (name) => {
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.deleteExchange(name),
      403,
      `ACCESS_REFUSED - deletion of system exchange '${name}' in vhost '/' not allowed`,
      40,
      20,
    );
    expect(await exchangeExists(name)).toBe(true);
  });

  it('closes the channel with 403 on any amq.* name, even one that does not exist', async () => {
    const { conn, ch } = await open();
    const name = `amq.${unique('x')}`;
    await expectChannelError(
      conn,
      ch,
      () => ch.deleteExchange(name),
      403,
      `ACCESS_REFUSED - deletion of system exchange '${name}' in vhost '/' not allowed`,
      40,
      20,
    );
  });

  it('removes the bindings of a deleted exchange: a redeclared one routes nowhere', async () => {
    const ch = await confirmChannel();
    const name = await exchange('fanout');
    const q = await boundQueue(ch, name, '');
    await ch.deleteExchange(name);
    await ch.assertExchange(name, 'fanout', { durable: false, autoDelete: false });
    await publish(ch, name, '', 'after');
    expect(await drain(ch, q)).toEqual([]);
  });

  it('deletes an auto-delete exchange when its last queue binding goes, not before', async () => {
    const ch = await channel();
    const name = await exchange('fanout', { autoDelete: true });
    // never bound: it stays
    await settle();
    expect(await exchangeExists(name)).toBe(true);
    const q = await boundQueue(ch, name, 'a');
    await ch.bindQueue(q, name, 'b');
    await ch.unbindQueue(q, name, 'a');
    expect(await exchangeExists(name)).toBe(true);
    await ch.unbindQueue(q, name, 'b');
    expect(await exchangeExists(name)).toBe(false);
  });

  it('deletes an auto-delete exchange when the queue bound to it is deleted', async () => {
    const ch = await channel();
    const name = await exchange('direct', { autoDelete: true });
    const q = await boundQueue(ch, name, 'k');
    await ch.deleteQueue(q);
    expect(await exchangeExists(name)).toBe(false);
  });

  it('deletes an auto-delete exchange when its last exchange binding as source goes', async () => {
    const ch = await channel();
    const source = await exchange('fanout', { autoDelete: true });
    const destination = await exchange('fanout');
    await ch.bindExchange(destination, source, '');
    await ch.unbindExchange(destination, source, '');
    expect(await exchangeExists(source)).toBe(false);
  });

  it('keeps an auto-delete exchange when a binding where it is only the destination goes', async () => {
    const ch = await channel();
    const source = await exchange('fanout');
    const destination = await exchange('fanout', { autoDelete: true });
    await ch.bindExchange(destination, source, '');
    await ch.unbindExchange(destination, source, '');
    expect(await exchangeExists(destination)).toBe(true);
  });
});

describe('exchange.bind and exchange.unbind', () => {
  it('routes through an exchange-to-exchange binding, by the binding key, until unbound', async () => {
    const ch = await confirmChannel();
    const source = await exchange('direct');
    const destination = await exchange('topic');
    expect(await ch.bindExchange(destination, source, 'x.y')).toEqual({});
    const q = await boundQueue(ch, destination, '*.y');
    await publish(ch, source, 'x.y', 'through');
    await publish(ch, source, 'z.y', 'not bound at the source');
    const m = await ch.get(q, { noAck: true });
    expect(m && { body: m.content.toString(), exchange: m.fields.exchange, routingKey: m.fields.routingKey }).toEqual({
      body: 'through',
      exchange: source,
      routingKey: 'x.y',
    });
    expect(await drain(ch, q)).toEqual([]);
    expect(await ch.unbindExchange(destination, source, 'x.y')).toEqual({});
    await publish(ch, source, 'x.y', 'after unbind');
    expect(await drain(ch, q)).toEqual([]);
  });

  it('routes through chains of exchanges of different types', async () => {
    const ch = await confirmChannel();
    const a = await exchange('fanout');
    const b = await exchange('topic');
    const c = await exchange('headers');
    await ch.bindExchange(b, a, 'ignored');
    await ch.bindExchange(c, b, 'order.#');
    const q = await boundQueue(ch, c, '', { 'x-match': 'all', kind: 'big' });
    await publish(ch, a, 'order.new', 'yes', { headers: { kind: 'big' } });
    await publish(ch, a, 'order.new', 'wrong header', { headers: { kind: 'small' } });
    await publish(ch, a, 'invoice.new', 'wrong key', { headers: { kind: 'big' } });
    expect(await drain(ch, q)).toEqual(['yes']);
  });

  it('does not loop on a cycle of exchanges, and delivers one copy to each queue however many paths reach it', async () => {
    const ch = await confirmChannel();
    const a = await exchange('fanout');
    const b = await exchange('fanout');
    const c = await exchange('fanout');
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(c, b, '');
    await ch.bindExchange(a, c, '');
    await ch.bindExchange(c, a, ''); // a second path a -> c
    const qa = await boundQueue(ch, a, '');
    const qb = await boundQueue(ch, b, '');
    const qc = await boundQueue(ch, c, '');
    const qbc = await boundQueue(ch, b, '');
    await ch.bindQueue(qbc, c, '');
    await publish(ch, a, 'k', 'once');
    await publish(ch, c, 'k', 'from c');
    for (const q of [qa, qb, qc, qbc]) expect(await drain(ch, q)).toEqual(['once', 'from c']);
  });

  it('does not loop on an exchange bound to itself', async () => {
    const ch = await confirmChannel();
    const a = await exchange('fanout');
    await ch.bindExchange(a, a, '');
    const q = await boundQueue(ch, a, '');
    await publish(ch, a, 'k', 'once');
    expect(await drain(ch, q)).toEqual(['once']);
  });

  it('keeps exchange bindings idempotent: bound twice, unbound once, it is gone', async () => {
    const ch = await confirmChannel();
    const source = await exchange('direct');
    const destination = await exchange('fanout');
    await ch.bindExchange(destination, source, 'k');
    await ch.bindExchange(destination, source, 'k');
    const q = await boundQueue(ch, destination, '');
    await publish(ch, source, 'k', 'one copy');
    expect(await drain(ch, q)).toEqual(['one copy']);
    await ch.unbindExchange(destination, source, 'k');
    await publish(ch, source, 'k', 'unbound');
    expect(await drain(ch, q)).toEqual([]);
  });

  it('closes the channel with 404 naming a missing source', async () => {
    const destination = await exchange('direct');
    const { conn, ch } = await open();
    const missing = unique('missing');
    await expectChannelError(conn, ch, () => ch.bindExchange(destination, missing, 'k'), 404, notFoundExchange(missing), 40, 30);
  });

  it('closes the channel with 404 naming a missing destination', async () => {
    const source = await exchange('direct');
    const { conn, ch } = await open();
    const missing = unique('missing');
    await expectChannelError(conn, ch, () => ch.bindExchange(missing, source, 'k'), 404, notFoundExchange(missing), 40, 30);
  });

  it('names the source when both are missing', async () => {
    const { conn, ch } = await open();
    const source = unique('missing-source');
    await expectChannelError(conn, ch, () => ch.bindExchange(unique('missing-destination'), source, 'k'), 404, notFoundExchange(source), 40, 30);
  });

  it('closes the channel with 403 when the default exchange is the source or the destination', async () => {
    const x = await exchange('direct');
    let { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.bindExchange(x, '', 'k'), 403, defaultExchangeRefused, 40, 30);
    ({ conn, ch } = await open());
    await expectChannelError(conn, ch, () => ch.bindExchange('', x, 'k'), 403, defaultExchangeRefused, 40, 30);
  });

  it('answers unbind-ok for a binding that does not exist, even between missing exchanges', async () => {
    const x = await exchange('direct');
    const ch = await channel();
    expect(await ch.unbindExchange(x, 'amq.direct', unique('k'))).toEqual({});
    expect(await ch.unbindExchange(x, unique('missing'), 'k')).toEqual({});
    expect(await ch.unbindExchange(unique('missing'), x, 'k')).toEqual({});
    expect(await ch.unbindExchange(unique('missing'), unique('missing'), 'k')).toEqual({});
  });
});

describe('alternate-exchange', () => {
  it('sends unroutable messages to the alternate exchange, with their exchange and routing key, and routable ones not', async () => {
    const ch = await confirmChannel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const ae = await exchange('fanout');
    const main = await exchange('direct', { alternateExchange: ae });
    const qae = await boundQueue(ch, ae, '');
    const qmain = await boundQueue(ch, main, 'good');
    await publish(ch, main, 'good', 'routed', { mandatory: true });
    await publish(ch, main, 'bad', 'unroutable', { mandatory: true });
    expect(await drain(ch, qmain)).toEqual(['routed']);
    const m = await ch.get(qae, { noAck: true });
    expect(m && { body: m.content.toString(), exchange: m.fields.exchange, routingKey: m.fields.routingKey }).toEqual({
      body: 'unroutable',
      exchange: main,
      routingKey: 'bad',
    });
    expect(await drain(ch, qae)).toEqual([]);
    // mandatory messages the alternate exchange took are not returned
    await settle();
    expect(returned).toEqual([]);
  });

  it('routes in the alternate exchange by the original routing key, and returns what it cannot route either', async () => {
    const ch = await confirmChannel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const ae = await exchange('topic');
    const main = await exchange('direct', { alternateExchange: ae });
    const q = await boundQueue(ch, ae, 'only.*');
    await publish(ch, main, 'only.this', 'taken', { mandatory: true });
    await publish(ch, main, 'not.this.one', 'returned', { mandatory: true });
    expect(await drain(ch, q)).toEqual(['taken']);
    await waitFor(() => returned.length === 1);
    expect(returned[0].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: main, routingKey: 'not.this.one' });
  });

  it('follows a chain of alternate exchanges', async () => {
    const ch = await confirmChannel();
    const last = await exchange('fanout');
    const middle = await exchange('direct', { alternateExchange: last });
    const main = await exchange('direct', { alternateExchange: middle });
    const q = await boundQueue(ch, last, '');
    await publish(ch, main, 'nowhere', 'chained');
    expect(await drain(ch, q)).toEqual(['chained']);
  });

  it('returns a mandatory message when the alternate exchange does not exist', async () => {
    const ch = await confirmChannel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const main = await exchange('direct', { alternateExchange: unique('missing') });
    await publish(ch, main, 'nowhere', 'lost', { mandatory: true });
    await waitFor(() => returned.length === 1);
    expect(returned[0].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: main, routingKey: 'nowhere' });
  });

  it('does not loop when an exchange is its own alternate exchange', async () => {
    const ch = await confirmChannel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const name = exchangeName('self-ae');
    await ch.assertExchange(name, 'direct', { durable: false, alternateExchange: name });
    await publish(ch, name, 'nowhere', 'lost', { mandatory: true });
    await waitFor(() => returned.length === 1);
    expect(returned[0].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: name, routingKey: 'nowhere' });
  });

  it('closes the channel with 406 when alternate-exchange is not a string', async () => {
    const { conn, ch } = await open();
    const name = exchangeName('bad-ae');
    await expectChannelError(
      conn,
      ch,
      () => ch.assertExchange(name, 'direct', { durable: false, arguments: { 'alternate-exchange': 5 } }),
      406,
      `PRECONDITION_FAILED - invalid type 'byte' for arg 'alternate-exchange' in exchange '${name}' in vhost '/'`,
      40,
      10,
    );
  });
});

describe('internal exchanges', () => {
  it('closes the channel with 403 on a publish to an internal exchange', async () => {
    const name = await exchange('fanout', { internal: true });
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.publish(name, '', Buffer.from('x')),
      403,
      `ACCESS_REFUSED - cannot publish to internal exchange '${name}' in vhost '/'`,
      60,
      40,
    );
  });

  it('closes the channel with 403 on a publish to amq.rabbitmq.trace, which is internal', async () => {
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.publish('amq.rabbitmq.trace', 'k', Buffer.from('x')),
      403,
      "ACCESS_REFUSED - cannot publish to internal exchange 'amq.rabbitmq.trace' in vhost '/'",
      60,
      40,
    );
  });

  it('routes to an internal exchange through an exchange binding', async () => {
    const ch = await confirmChannel();
    const internal = await exchange('fanout', { internal: true });
    const front = await exchange('direct');
    await ch.bindExchange(internal, front, 'k');
    const q = await boundQueue(ch, internal, '');
    await publish(ch, front, 'k', 'via binding');
    expect(await drain(ch, q)).toEqual(['via binding']);
  });
});

describe('queue.declare', () => {
  it('names a queue declared with "" amq.gen- followed by 22 url-safe base64 characters, differently each time', async () => {
    const ch = await channel();
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const ok = await ch.assertQueue('', { exclusive: true });
      expect(ok.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
      expect(ok).toEqual({ queue: ok.queue, messageCount: 0, consumerCount: 0 });
      names.add(ok.queue);
    }
    expect(names.size).toBe(5);
  });

  it('names a non-exclusive server-named queue the same way', async () => {
    const ch = await channel();
    const ok = await ch.assertQueue('', { exclusive: false, autoDelete: false, durable: false });
    queues().push(ok.queue);
    expect(ok.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
  });

  it('reports ready messages (not unacknowledged ones) and consumers in declare-ok', async () => {
    const ch = await confirmChannel();
    const q = await queue();
    expect(await ch.assertQueue(q, { durable: false, autoDelete: false })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    for (let i = 0; i < 3; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    expect(await ch.assertQueue(q, { durable: false, autoDelete: false })).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
    const consumerCh = await channel();
    await consumerCh.prefetch(1);
    let got = 0;
    await consumerCh.consume(q, () => got++);
    await consumerCh.consume(q, () => got++);
    await waitFor(() => got === 2);
    // two delivered and unacknowledged, one ready
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 2 });
    await consumerCh.close();
    await waitForCount(q, 3);
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 3, consumerCount: 0 });
  });

  it('closes the channel with 404 on a passive declaration of a missing queue', async () => {
    const { conn, ch } = await open();
    const name = unique('missing');
    await expectChannelError(conn, ch, () => ch.checkQueue(name), 404, notFoundQueue(name), 50, 10);
  });

  it('closes the channel with 404 on a passive declaration of "", even after declaring a queue on the channel', async () => {
    const { conn, ch } = await open();
    await ch.assertQueue('', { exclusive: true });
    await expectChannelError(conn, ch, () => ch.checkQueue(''), 404, notFoundQueue(''), 50, 10);
  });

  it('closes the channel with 403 on a name starting with "amq."', async () => {
    const { conn, ch } = await open();
    const name = `amq.${unique('q')}`;
    await expectChannelError(conn, ch, () => ch.assertQueue(name), 403, `ACCESS_REFUSED - queue name '${name}' contains reserved prefix 'amq.*'`, 50, 10);
  });

  it('answers a passive declaration of a missing amq.* queue with 404, not 403', async () => {
    const { conn, ch } = await open();
    const name = `amq.gen-${unique('q')}`;
    await expectChannelError(conn, ch, () => ch.checkQueue(name), 404, notFoundQueue(name), 50, 10);
  });

  it('closes the channel with 403 on a redeclaration of its own server-named queue; passive is fine', async () => {
    const { conn, ch } = await open();
    const { queue: q } = await ch.assertQueue('', { exclusive: true });
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await expectChannelError(
      conn,
      ch,
      () => ch.assertQueue(q, { exclusive: true }),
      403,
      `ACCESS_REFUSED - queue name '${q}' contains reserved prefix 'amq.*'`,
      50,
      10,
    );
  });

  it.each([
    ['declare', (ch: Channel, q: string) => ch.assertQueue(q, { exclusive: true }), 50, 10],
    ['declare as non-exclusive', (ch: Channel, q: string) => ch.assertQueue(q, { exclusive: false }), 50, 10],
    ['passive declare', (ch: Channel, q: string) => ch.checkQueue(q), 50, 10],
    ['consume', (ch: Channel, q: string) => ch.consume(q, () => {}), 60, 20],
    ['bind', (ch: Channel, q: string) => ch.bindQueue(q, 'amq.fanout', ''), 50, 20],
    ['unbind an existing binding', (ch: Channel, q: string) => ch.unbindQueue(q, 'amq.direct', q), 50, 50],
    ['delete', (ch: Channel, q: string) => ch.deleteQueue(q), 50, 40],
    ['delete if-unused', (ch: Channel, q: string) => ch.deleteQueue(q, { ifUnused: true }), 50, 40],
    ['purge', (ch: Channel, q: string) => ch.purgeQueue(q), 50, 30],
    ['get', (ch: Channel, q: string) => ch.get(q), 60, 70],
  ])('closes the channel with 405 on %s of an exclusive queue from another connection', async (_op, op, classId, methodId) => {
    const owner = await channel();
    const q = queueName('exclusive');
    await owner.assertQueue(q, { exclusive: true });
    await owner.bindQueue(q, 'amq.direct', q);
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => op(ch, q), 405, locked(q), classId, methodId);
    // the owner still has it, bound
    expect(await owner.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it('closes the channel with 405 on a passive declaration of another connection\'s server-named queue', async () => {
    const owner = await channel();
    const { queue: q } = await owner.assertQueue('', { exclusive: true });
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.checkQueue(q), 405, locked(q), 50, 10);
  });

  it('lets other connections publish to an exclusive queue, and unbind bindings it does not have', async () => {
    const owner = await channel();
    const q = queueName('exclusive');
    await owner.assertQueue(q, { exclusive: true });
    const other = await confirmChannel();
    other.sendToQueue(q, Buffer.from('from elsewhere'));
    await other.waitForConfirms();
    expect(await other.unbindQueue(q, 'amq.direct', unique('never-bound'))).toEqual({});
    expect(await drain(owner, q)).toEqual(['from elsewhere']);
  });

  it('closes the channel with 405 when the owning connection redeclares its exclusive queue as non-exclusive', async () => {
    const conn = await connection();
    const owner = await channel(conn);
    const q = queueName('exclusive');
    await owner.assertQueue(q, { exclusive: true });
    const ch = await channel(conn);
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { exclusive: false }), 405, locked(q), 50, 10);
    // and redeclaring it exclusive from another channel of the same connection is fine
    const again = await channel(conn);
    expect(await again.assertQueue(q, { exclusive: true })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
  });

  it('closes the channel with 405 on an exclusive redeclaration of a non-exclusive queue', async () => {
    const q = await queue();
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.assertQueue(q, { exclusive: true, durable: false, autoDelete: false }), 405, locked(q), 50, 10);
  });

  it('deletes an exclusive queue when its connection closes, not when its channel closes', async () => {
    const conn = await amqp.connect(suite.broker.url);
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    const q = queueName('exclusive');
    await ch.assertQueue(q, { exclusive: true });
    await ch.close();
    const ch2 = await conn.createChannel();
    expect(await ch2.checkQueue(q)).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await conn.close();
    await waitForQueueGone(q);
  });

  it('deletes an auto-delete queue when its last consumer cancels, not before it ever had one', async () => {
    const q = await queue({ autoDelete: true });
    await settle();
    expect(await queueExists(q)).toBe(true);
    const ch = await channel();
    const { consumerTag: t1 } = await ch.consume(q, () => {});
    const { consumerTag: t2 } = await ch.consume(q, () => {});
    await ch.cancel(t1);
    expect(await counts(q)).toEqual({ messageCount: 0, consumerCount: 1 });
    await ch.cancel(t2);
    await waitForQueueGone(q);
  });

  it('deletes an auto-delete queue when the channel of its last consumer closes', async () => {
    const q = await queue({ autoDelete: true });
    const ch = await channel();
    await ch.consume(q, () => {});
    await ch.close();
    await waitForQueueGone(q);
  });

  it('keeps an auto-delete queue that was only read with basic.get', async () => {
    const q = await queue({ autoDelete: true });
    const ch = await confirmChannel();
    ch.sendToQueue(q, Buffer.from('x'));
    await ch.waitForConfirms();
    expect(await drain(ch, q)).toEqual(['x']);
    await settle();
    expect(await queueExists(q)).toBe(true);
  });

  it('accepts an equivalent redeclaration, ignoring arguments RabbitMQ does not check', async () => {
    const q = await queue({ arguments: { 'x-max-length': 10 } });
    const ch = await channel();
    const same = { durable: false, autoDelete: false, exclusive: false };
    expect(await ch.assertQueue(q, { ...same, arguments: { 'x-max-length': 10 } })).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    // numeric arguments compare by value whatever the integer type
    await ch.assertQueue(q, { ...same, arguments: { 'x-max-length': { '!': 'int', value: 10 } } });
    await ch.assertQueue(q, { ...same, arguments: { 'x-max-length': { '!': 'long', value: 10 } } });
    // arguments outside RabbitMQ's list (with or without "x-") are not compared
    await ch.assertQueue(q, { ...same, arguments: { 'x-max-length': 10, foo: 'bar', 'x-foo': 1 } });
    // x-queue-type 'classic' is what the queue already is
    await ch.assertQueue(q, { ...same, arguments: { 'x-max-length': 10, 'x-queue-type': 'classic' } });
  });

  it('compares string arguments by content whether sent as longstr or byte array', async () => {
    const q = await queue({ arguments: { 'x-dead-letter-exchange': 'dlx' } });
    const ch = await channel();
    expect(await ch.assertQueue(q, { durable: false, autoDelete: false, arguments: { 'x-dead-letter-exchange': Buffer.from('dlx') } })).toEqual({
      queue: q,
      messageCount: 0,
      consumerCount: 0,
    });
  });

  it.each([
    ['durable', { durable: true }, "inequivalent arg 'durable' for queue '%s' in vhost '/': received 'true' but current is 'false'"],
    ['auto-delete', { autoDelete: true }, "inequivalent arg 'auto_delete' for queue '%s' in vhost '/': received 'true' but current is 'false'"],
    ['x-max-length 20 for 10', { arguments: { 'x-max-length': 20 } }, "inequivalent arg 'x-max-length' for queue '%s' in vhost '/': received '20' but current is '10'"],
    [
      'x-max-length removed',
      { arguments: {} },
      "inequivalent arg 'x-max-length' for queue '%s' in vhost '/': received none but current is the value '10' of type 'byte'",
    ],
    [
      'x-max-length "10" (a string) for 10',
      { arguments: { 'x-max-length': '10' } },
      "inequivalent arg 'x-max-length' for queue '%s' in vhost '/': received '10' but current is '10'",
    ],
    [
      'x-max-length 10.0 (a double) for 10',
      { arguments: { 'x-max-length': { '!': 'double', value: 10 } } },
      "inequivalent arg 'x-max-length' for queue '%s' in vhost '/': received '10.0' but current is '10'",
    ],
    [
      'x-max-length "ten" for 10 (equivalence is checked before validity)',
      { arguments: { 'x-max-length': 'ten' } },
      "inequivalent arg 'x-max-length' for queue '%s' in vhost '/': received 'ten' but current is '10'",
    ],
    [
      'x-message-ttl added',
      { arguments: { 'x-max-length': 10, 'x-message-ttl': 1000 } },
      "inequivalent arg 'x-message-ttl' for queue '%s' in vhost '/': received the value '1000' of type 'short' but current is none",
    ],
    [
      'x-expires added',
      { arguments: { 'x-max-length': 10, 'x-expires': 100000 } },
      "inequivalent arg 'x-expires' for queue '%s' in vhost '/': received the value '100000' of type 'signedint' but current is none",
    ],
    [
      'x-dead-letter-exchange added',
      { arguments: { 'x-max-length': 10, 'x-dead-letter-exchange': 'dlx' } },
      "inequivalent arg 'x-dead-letter-exchange' for queue '%s' in vhost '/': received the value 'dlx' of type 'longstr' but current is none",
    ],
    [
      'x-max-priority added',
      { arguments: { 'x-max-length': 10, 'x-max-priority': 5 } },
      "inequivalent arg 'x-max-priority' for queue '%s' in vhost '/': received the value '5' of type 'byte' but current is none",
    ],
    [
      'durable and x-max-length (durable is reported)',
      { durable: true, arguments: { 'x-max-length': 11 } },
      "inequivalent arg 'durable' for queue '%s' in vhost '/': received 'true' but current is 'false'",
    ],
    [
      'auto-delete and x-max-length (auto_delete is reported)',
      { autoDelete: true, arguments: { 'x-max-length': 11 } },
      "inequivalent arg 'auto_delete' for queue '%s' in vhost '/': received 'true' but current is 'false'",
    ],
  ])('closes the channel with 406 on a redeclaration with %s', async (_what, change: amqp.Options.AssertQueue, text) => {
    const q = await queue({ arguments: { 'x-max-length': 10 } });
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.assertQueue(q, { durable: false, autoDelete: false, exclusive: false, arguments: { 'x-max-length': 10 }, ...change }),
      406,
      `PRECONDITION_FAILED - ${text.replace('%s', q)}`,
      50,
      10,
    );
  });

  it('reports the stored type of a removed argument: 1000 was a short', async () => {
    const q = await queue({ arguments: { 'x-max-length': 1000 } });
    let { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.assertQueue(q, { durable: false, autoDelete: false }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received none but current is the value '1000' of type 'short'`,
      50,
      10,
    );
    ({ conn, ch } = await open());
    await expectChannelError(
      conn,
      ch,
      () => ch.assertQueue(q, { durable: false, autoDelete: false, arguments: { 'x-max-length': 10 } }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received '10' but current is '1000'`,
      50,
      10,
    );
  });

  it('closes the channel with 406 when a string argument changes', async () => {
    const q = await queue({ arguments: { 'x-dead-letter-exchange': 'dlx' } });
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.assertQueue(q, { durable: false, autoDelete: false, arguments: { 'x-dead-letter-exchange': 'other' } }),
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange' for queue '${q}' in vhost '/': received 'other' but current is 'dlx'`,
      50,
      10,
    );
  });

  it.each([
    ['x-max-length "ten"', { 'x-max-length': 'ten' }, `invalid arg 'x-max-length' for queue '%s' in vhost '/': "expected integer, got longstr"`],
    ['x-max-length -1', { 'x-max-length': -1 }, "invalid arg 'x-max-length' for queue '%s' in vhost '/': {value_negative,-1}"],
    ['x-message-ttl "x"', { 'x-message-ttl': 'x' }, `invalid arg 'x-message-ttl' for queue '%s' in vhost '/': "expected integer, got longstr"`],
    ['x-overflow "foo"', { 'x-overflow': 'foo' }, "invalid arg 'x-overflow' for queue '%s' in vhost '/': invalid_overflow"],
    ['x-queue-type "foo"', { 'x-queue-type': 'foo' }, `invalid arg 'x-queue-type' for queue '%s' in vhost '/': "unsupported queue type 'foo'"`],
  ])('closes the channel with 406 on a new queue with invalid %s', async (_what, args, text) => {
    const { conn, ch } = await open();
    const q = queueName('invalid');
    await expectChannelError(
      conn,
      ch,
      () => ch.assertQueue(q, { durable: false, arguments: args }),
      406,
      `PRECONDITION_FAILED - ${text.replace('%s', q)}`,
      50,
      10,
    );
    expect(await queueExists(q)).toBe(false);
  });
});

describe('queue.bind and queue.unbind', () => {
  it('is idempotent: bound twice, one copy; unbound once, no route', async () => {
    const ch = await confirmChannel();
    const q = await queue();
    const x = await exchange('direct');
    expect(await ch.bindQueue(q, x, 'k')).toEqual({});
    expect(await ch.bindQueue(q, x, 'k')).toEqual({});
    await publish(ch, x, 'k', 'one copy');
    expect(await drain(ch, q)).toEqual(['one copy']);
    expect(await ch.unbindQueue(q, x, 'k')).toEqual({});
    await publish(ch, x, 'k', 'unbound');
    expect(await drain(ch, q)).toEqual([]);
  });

  it('closes the channel with 404 on a missing queue', async () => {
    const { conn, ch } = await open();
    const q = unique('missing');
    await expectChannelError(conn, ch, () => ch.bindQueue(q, 'amq.direct', 'k'), 404, notFoundQueue(q), 50, 20);
  });

  it('closes the channel with 404 on a missing exchange', async () => {
    const q = await queue();
    const { conn, ch } = await open();
    const x = unique('missing');
    await expectChannelError(conn, ch, () => ch.bindQueue(q, x, 'k'), 404, notFoundExchange(x), 50, 20);
  });

  it('names the exchange when both are missing', async () => {
    const { conn, ch } = await open();
    const x = unique('missing');
    await expectChannelError(conn, ch, () => ch.bindQueue(unique('missing'), x, 'k'), 404, notFoundExchange(x), 50, 20);
  });

  it('closes the channel with 403 on a binding to the default exchange', async () => {
    const q = await queue();
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.bindQueue(q, '', q), 403, defaultExchangeRefused, 50, 20);
  });

  it('closes the channel with 403 on an unbind from the default exchange', async () => {
    const q = await queue();
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.unbindQueue(q, '', q), 403, defaultExchangeRefused, 50, 50);
  });

  it('answers unbind-ok for a binding, queue or exchange that does not exist', async () => {
    const q = await queue();
    const ch = await channel();
    expect(await ch.unbindQueue(q, 'amq.direct', unique('k'))).toEqual({});
    expect(await ch.unbindQueue(unique('missing'), 'amq.direct', 'k')).toEqual({});
    expect(await ch.unbindQueue(q, unique('missing'), 'k')).toEqual({});
  });

  it('takes "" as the queue last declared on the channel', async () => {
    const ch = await confirmChannel();
    const { queue: q } = await ch.assertQueue('', { exclusive: true });
    const key = unique('k');
    await ch.bindQueue('', 'amq.direct', key);
    await publish(ch, 'amq.direct', key, 'x');
    expect(await ch.checkQueue(q)).toEqual({ queue: q, messageCount: 1, consumerCount: 0 });
    expect(await ch.purgeQueue('')).toEqual({ messageCount: 1 });
    expect(await ch.deleteQueue('')).toEqual({ messageCount: 0 });
    expect(await queueExists(q)).toBe(false);
  });

  it.each([
    ['queue.bind', (ch: Channel) => ch.bindQueue('', 'amq.direct', 'k'), 50, 20],
    ['queue.purge', (ch: Channel) => ch.purgeQueue(''), 50, 30],
    ['queue.delete', (ch: Channel) => ch.deleteQueue(''), 50, 40],
  ])('closes the channel with 404 on %s of "" when no queue was declared on the channel', async (_op, op, classId, methodId) => {
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => op(ch), 404, 'NOT_FOUND - no previously declared queue', classId, methodId);
  });
});

describe('queue.purge', () => {
  it('removes the ready messages and returns their count, leaving unacknowledged ones', async () => {
    const ch = await confirmChannel();
    const q = await queue();
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    const held = await ch.get(q);
    expect(held && held.content.toString()).toBe('m0');
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 4 });
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 0 });
    // the unacknowledged one comes back when rejected
    ch.nack(held as Message, false, true);
    await waitForCount(q, 1);
    expect(await drain(ch, q)).toEqual(['m0']);
  });

  it('closes the channel with 404 on a missing queue', async () => {
    const { conn, ch } = await open();
    const q = unique('missing');
    await expectChannelError(conn, ch, () => ch.purgeQueue(q), 404, notFoundQueue(q), 50, 30);
  });
});

describe('queue.delete', () => {
  it('deletes a queue and returns its ready message count (unacknowledged ones not counted)', async () => {
    const ch = await confirmChannel();
    const q = await queue();
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    const c = await channel();
    await c.prefetch(2);
    let got = 0;
    await c.consume(q, (m) => {
      if (m) got++;
    });
    await waitFor(() => got === 2);
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 3 });
    expect(await queueExists(q)).toBe(false);
  });

  it('answers delete-ok with 0 for a missing queue, whatever the flags', async () => {
    const ch = await channel();
    expect(await ch.deleteQueue(unique('missing'))).toEqual({ messageCount: 0 });
    expect(await ch.deleteQueue(unique('missing'), { ifUnused: true, ifEmpty: true })).toEqual({ messageCount: 0 });
  });

  it('closes the channel with 406 on if-unused when the queue has a consumer', async () => {
    const q = await queue();
    const c = await channel();
    await c.consume(q, () => {});
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.deleteQueue(q, { ifUnused: true }), 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`, 50, 40);
    expect(await queueExists(q)).toBe(true);
  });

  it('closes the channel with 406 on if-empty when the queue has messages', async () => {
    const q = await queue();
    const p = await confirmChannel();
    p.sendToQueue(q, Buffer.from('x'));
    await p.waitForConfirms();
    const { conn, ch } = await open();
    await expectChannelError(conn, ch, () => ch.deleteQueue(q, { ifEmpty: true }), 406, `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`, 50, 40);
    expect(await counts(q)).toEqual({ messageCount: 1, consumerCount: 0 });
  });

  it('reports "not empty" first when if-unused and if-empty both fail', async () => {
    const q = await queue();
    const p = await confirmChannel();
    p.sendToQueue(q, Buffer.from('x'));
    await p.waitForConfirms();
    const c = await channel();
    await c.prefetch(1);
    let got = 0;
    await c.consume(q, () => got++);
    await waitFor(() => got === 1);
    p.sendToQueue(q, Buffer.from('y'));
    await p.waitForConfirms();
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.deleteQueue(q, { ifUnused: true, ifEmpty: true }),
      406,
      `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`,
      50,
      40,
    );
  });

  it('reports "in use" when the consumer holds every message and both if-unused and if-empty are set', async () => {
    const q = await queue();
    const p = await confirmChannel();
    p.sendToQueue(q, Buffer.from('x'));
    await p.waitForConfirms();
    const c = await channel();
    let got = 0;
    await c.consume(q, () => got++);
    await waitFor(() => got === 1);
    const { conn, ch } = await open();
    await expectChannelError(
      conn,
      ch,
      () => ch.deleteQueue(q, { ifUnused: true, ifEmpty: true }),
      406,
      `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`,
      50,
      40,
    );
  });

  it('counts only ready messages for if-empty: a queue whose messages are all unacknowledged is deleted', async () => {
    const q = await queue();
    const p = await confirmChannel();
    p.sendToQueue(q, Buffer.from('x'));
    await p.waitForConfirms();
    const holder = await channel();
    expect(await holder.get(q)).not.toBe(false);
    const ch = await channel();
    expect(await ch.deleteQueue(q, { ifEmpty: true })).toEqual({ messageCount: 0 });
    expect(await queueExists(q)).toBe(false);
  });

  it('deletes with if-unused and if-empty a queue that is neither used nor empty', async () => {
    const q = await queue();
    const ch = await channel();
    expect(await ch.deleteQueue(q, { ifUnused: true, ifEmpty: true })).toEqual({ messageCount: 0 });
    expect(await queueExists(q)).toBe(false);
  });

  it('sends basic.cancel to the consumers of a deleted queue; their channel stays open', async () => {
    const q = await queue();
    const c = await channel();
    const seen: (string | null)[] = [];
    await c.consume(q, (m) => seen.push(m ? m.content.toString() : null));
    await c.consume(q, (m) => seen.push(m ? m.content.toString() : null));
    const ch = await channel();
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 0 });
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([null, null]);
    expect(await c.checkExchange('amq.direct')).toEqual({});
  });

  it('removes the bindings of a deleted queue: a redeclared one gets nothing', async () => {
    const ch = await confirmChannel();
    const x = await exchange('fanout');
    const q = await queue();
    await ch.bindQueue(q, x, '');
    await ch.deleteQueue(q);
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    await publish(ch, x, '', 'after');
    expect(await drain(ch, q)).toEqual([]);
  });
});

describe('direct exchange routing', () => {
  it('routes on the exact, case-sensitive routing key', async () => {
    const ch = await confirmChannel();
    const x = await exchange('direct');
    const q = await boundQueue(ch, x, 'key');
    for (const key of ['key', 'Key', 'key ', 'ke', 'keys', '']) await publish(ch, x, key, `[${key}]`);
    expect(await drain(ch, q)).toEqual(['[key]']);
  });

  it('routes a key to every queue bound with it, and a queue bound with several keys gets each', async () => {
    const ch = await confirmChannel();
    const x = await exchange('direct');
    const q1 = await boundQueue(ch, x, 'a');
    const q2 = await boundQueue(ch, x, 'a');
    await ch.bindQueue(q2, x, 'b');
    const q3 = await boundQueue(ch, x, 'c');
    await publish(ch, x, 'a', 'A');
    await publish(ch, x, 'b', 'B');
    await publish(ch, x, 'd', 'D');
    expect(await drain(ch, q1)).toEqual(['A']);
    expect(await drain(ch, q2)).toEqual(['A', 'B']);
    expect(await drain(ch, q3)).toEqual([]);
  });

  it('routes on the empty key', async () => {
    const ch = await confirmChannel();
    const x = await exchange('direct');
    const q = await boundQueue(ch, x, '');
    await publish(ch, x, '', 'empty');
    await publish(ch, x, 'x', 'not empty');
    expect(await drain(ch, q)).toEqual(['empty']);
  });

  it('routes amq.direct like any direct exchange', async () => {
    const ch = await confirmChannel();
    const key = unique('k');
    const q = await boundQueue(ch, 'amq.direct', key);
    await publish(ch, 'amq.direct', key, 'yes');
    await publish(ch, 'amq.direct', `${key}x`, 'no');
    expect(await drain(ch, q)).toEqual(['yes']);
  });
});

describe('fanout exchange routing', () => {
  it('routes every message to every bound queue, whatever the keys', async () => {
    const ch = await confirmChannel();
    const x = await exchange('fanout');
    const q1 = await boundQueue(ch, x, '');
    const q2 = await boundQueue(ch, x, 'anything');
    await publish(ch, x, '', 'one');
    await publish(ch, x, 'some.key', 'two');
    expect(await drain(ch, q1)).toEqual(['one', 'two']);
    expect(await drain(ch, q2)).toEqual(['one', 'two']);
  });

  it('delivers one copy to a queue bound twice with different keys', async () => {
    const ch = await confirmChannel();
    const x = await exchange('fanout');
    const q = await boundQueue(ch, x, 'a');
    await ch.bindQueue(q, x, 'b');
    await publish(ch, x, 'a', 'once');
    expect(await drain(ch, q)).toEqual(['once']);
  });

  it('returns a mandatory message when nothing is bound', async () => {
    const ch = await confirmChannel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const x = await exchange('fanout');
    await publish(ch, x, 'k', 'nobody', { mandatory: true });
    await waitFor(() => returned.length === 1);
    expect(returned[0].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: x, routingKey: 'k' });
  });
});

describe('default exchange routing', () => {
  it('routes by queue name to every queue, without any binding', async () => {
    const ch = await confirmChannel();
    const q = await queue();
    const other = await queue();
    await publish(ch, '', q, 'direct to q');
    expect(await drain(ch, q)).toEqual(['direct to q']);
    expect(await drain(ch, other)).toEqual([]);
    const m = await (async () => {
      await publish(ch, '', q, 'fields');
      return ch.get(q, { noAck: true });
    })();
    expect(m && { exchange: m.fields.exchange, routingKey: m.fields.routingKey }).toEqual({ exchange: '', routingKey: q });
  });

  it('routes to server-named queues too', async () => {
    const ch = await confirmChannel();
    const { queue: q } = await ch.assertQueue('', { exclusive: true });
    await publish(ch, '', q, 'to amq.gen');
    expect(await drain(ch, q)).toEqual(['to amq.gen']);
  });

  it('returns a mandatory message for a queue name that does not exist', async () => {
    const ch = await confirmChannel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const missing = unique('missing');
    await publish(ch, '', missing, 'nobody', { mandatory: true });
    await waitFor(() => returned.length === 1);
    expect(returned[0].fields).toEqual({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: missing });
  });
});

// (binding key, routing key, matches?) as RabbitMQ 3.10's topic exchange decides. Words are separated by
// '.', so '' has no words at all while '.' has two empty ones; '*' is exactly one (possibly empty) word,
// '#' zero or more; '*' and '#' inside a word are ordinary characters.
const TOPIC_TABLE: [string, string, boolean][] = [
  ['a.b', 'a.b', true],
  ['a.b', 'a.c', false],
  ['a.b', 'a', false],
  ['a.b', 'a.b.c', false],
  ['a.b', 'A.B', false],
  ['a.*', 'a.b', true],
  ['a.*', 'a', false],
  ['a.*', 'a.b.c', false],
  ['a.*', 'a.', true],
  ['a.*', 'b.a', false],
  ['*', 'a', true],
  ['*', '', false],
  ['*', 'a.b', false],
  ['*', '.', false],
  ['*', 'a.', false],
  ['*.*', 'a.b', true],
  ['*.*', 'a', false],
  ['*.*', '.', true],
  ['*.*', 'a.b.c', false],
  ['*.*', '', false],
  ['#', '', true],
  ['#', 'a', true],
  ['#', 'a.b.c', true],
  ['#', '.', true],
  ['#', '..', true],
  ['', '', true],
  ['', 'a', false],
  ['', '.', false],
  ['a.#', 'a', true],
  ['a.#', 'a.b', true],
  ['a.#', 'a.b.c', true],
  ['a.#', 'b.a', false],
  ['a.#', 'ab', false],
  ['a.#', 'a.', true],
  ['a.#', '', false],
  ['#.a', 'a', true],
  ['#.a', 'b.a', true],
  ['#.a', 'b.c.a', true],
  ['#.a', 'a.b', false],
  ['#.a', '.a', true],
  ['#.a', '', false],
  ['a.#.b', 'a.b', true],
  ['a.#.b', 'a.x.b', true],
  ['a.#.b', 'a.x.y.b', true],
  ['a.#.b', 'a.b.c', false],
  ['a.#.b', 'a.x', false],
  ['a.#.b', 'a..b', true],
  ['a.#.b', 'b', false],
  ['#.#', '', true],
  ['#.#', 'a', true],
  ['#.#', 'a.b.c', true],
  ['#.#.a', 'a', true],
  ['#.a.#', 'a', true],
  ['#.a.#', 'x.a.y', true],
  ['#.a.#', 'x.y', false],
  ['#.a.#', 'xa', false],
  ['a.*.#', 'a', false],
  ['a.*.#', 'a.b', true],
  ['a.*.#', 'a.b.c', true],
  ['#.*', '', false],
  ['#.*', 'a', true],
  ['#.*', 'a.b', true],
  ['*.#', '', false],
  ['*.#', 'a', true],
  ['*.#', 'a.b', true],
  ['*.*.#', 'a', false],
  ['*.*.#', 'a.b', true],
  ['*.b.#', 'a.b', true],
  ['*.b.#', 'b', false],
  ['*.b.#', 'a.b.c.d', true],
  ['a..b', 'a..b', true],
  ['a..b', 'a.b', false],
  ['a.*.b', 'a..b', true],
  ['a.*.b', 'a.b', false],
  ['.a', '.a', true],
  ['.a', 'a', false],
  ['*.a', '.a', true],
  ['*.a', 'a', false],
  ['a.', 'a.', true],
  ['a.', 'a', false],
  ['.', '.', true],
  ['.', '', false],
  ['..', '..', true],
  ['#.', '', false],
  ['#.', '.', true],
  ['#.', 'a.', true],
  ['#.', 'a', false],
  ['.#', '.', true],
  ['.#', '', false],
  ['a*', 'ab', false],
  ['a*', 'a*', true],
  ['a#', 'a#', true],
  ['a#', 'abc', false],
];

describe('topic exchange routing', () => {
  let conn: ChannelModel;
  let ch: ConfirmChannel;
  beforeAll(async () => {
    conn = await amqp.connect(suite.broker.url);
    conn.on('error', () => {});
    ch = await conn.createConfirmChannel();
  });
  afterAll(() => conn.close());

  for (const [bindingKey, routingKey, matches] of TOPIC_TABLE) {
    it(`binding key ${JSON.stringify(bindingKey)} ${matches ? 'matches' : 'does not match'} routing key ${JSON.stringify(routingKey)}`, async () => {
      const x = await exchange('topic', {}, ch);
      const q = await boundQueue(ch, x, bindingKey);
      await publish(ch, x, routingKey, 'm');
      expect(await drain(ch, q)).toEqual(matches ? ['m'] : []);
      await ch.deleteQueue(q);
    });
  }

  it('delivers one copy to a queue whose several bindings match', async () => {
    const x = await exchange('topic', {}, ch);
    const q = await boundQueue(ch, x, '#');
    await ch.bindQueue(q, x, 'a.*');
    await ch.bindQueue(q, x, 'a.b');
    await publish(ch, x, 'a.b', 'once');
    expect(await drain(ch, q)).toEqual(['once']);
    await ch.deleteQueue(q);
  });

  it('routes amq.topic like any topic exchange', async () => {
    const key = unique('k');
    const q = await boundQueue(ch, 'amq.topic', `${key}.#`);
    await publish(ch, 'amq.topic', `${key}.x.y`, 'yes');
    await publish(ch, 'amq.topic', `x.${key}`, 'no');
    expect(await drain(ch, q)).toEqual(['yes']);
    await ch.deleteQueue(q);
  });
});

/** A field value with an explicit AMQP type, as amqplib takes it. */
const typed = (type: string, value: unknown) => ({ '!': type, value });

// (binding arguments, message headers, matches?) as RabbitMQ 3.10's headers exchange decides. Values
// are compared as Erlang's == does: numbers by value whatever their type (byte 1 = long 1 = double 1.0 =
// timestamp 1), longstr and byte array by content, booleans only with booleans, tables and arrays
// exactly (types included). A void binding value only asks for the header to be present.
const HEADERS_TABLE: [string, Record<string, unknown>, Record<string, unknown> | undefined, boolean][] = [
  ['all: every pair', { 'x-match': 'all', a: 1, b: 'x' }, { a: 1, b: 'x' }, true],
  ['all: one pair missing', { 'x-match': 'all', a: 1, b: 'x' }, { a: 1 }, false],
  ['all: extra headers', { 'x-match': 'all', a: 1, b: 'x' }, { a: 1, b: 'x', c: 3 }, true],
  ['all: a value differs', { 'x-match': 'all', a: 1, b: 'x' }, { a: 2, b: 'x' }, false],
  ['all: "1" for 1', { 'x-match': 'all', a: 1, b: 'x' }, { a: '1', b: 'x' }, false],
  ['all: no headers', { 'x-match': 'all', a: 1, b: 'x' }, undefined, false],
  ['any: first pair', { 'x-match': 'any', a: 1, b: 'x' }, { a: 1 }, true],
  ['any: second pair', { 'x-match': 'any', a: 1, b: 'x' }, { b: 'x' }, true],
  ['any: both pairs', { 'x-match': 'any', a: 1, b: 'x' }, { a: 1, b: 'x' }, true],
  ['any: a value differs', { 'x-match': 'any', a: 1, b: 'x' }, { a: 2 }, false],
  ['any: "1" for 1', { 'x-match': 'any', a: 1, b: 'x' }, { a: '1' }, false],
  ['any: other headers', { 'x-match': 'any', a: 1, b: 'x' }, { c: 1 }, false],
  ['any: no headers', { 'x-match': 'any', a: 1, b: 'x' }, undefined, false],
  ['no x-match (= all): every pair', { a: 1, b: 'x' }, { a: 1, b: 'x' }, true],
  ['no x-match (= all): one pair', { a: 1, b: 'x' }, { a: 1 }, false],
  ['all, no pairs: no headers', { 'x-match': 'all' }, undefined, true],
  ['all, no pairs: some headers', { 'x-match': 'all' }, { c: 1 }, true],
  ['any, no pairs: some headers', { 'x-match': 'any' }, { a: 1 }, false],
  ['any, no pairs: no headers', { 'x-match': 'any' }, undefined, false],
  ['no arguments: no headers', {}, undefined, true],
  ['no arguments: some headers', {}, { a: 1 }, true],
  ['all ignores x- pairs: none sent', { 'x-match': 'all', 'x-foo': 'bar' }, undefined, true],
  ['all ignores x- pairs: another value', { 'x-match': 'all', 'x-foo': 'bar', a: 1 }, { 'x-foo': 'baz', a: 1 }, true],
  ['all ignores x- pairs: only the others count', { 'x-match': 'all', 'x-foo': 'bar', a: 1 }, { a: 1 }, true],
  ['any ignores x- pairs: the x- pair sent', { 'x-match': 'any', 'x-foo': 'bar' }, { 'x-foo': 'bar' }, false],
  ['any ignores x- pairs: x- pair but not a', { 'x-match': 'any', 'x-foo': 'bar', a: 1 }, { 'x-foo': 'bar' }, false],
  ['any ignores x- pairs: a', { 'x-match': 'any', 'x-foo': 'bar', a: 1 }, { a: 1 }, true],
  ['all-with-x: every pair', { 'x-match': 'all-with-x', 'x-foo': 'bar', a: 1 }, { 'x-foo': 'bar', a: 1 }, true],
  ['all-with-x: x- pair missing', { 'x-match': 'all-with-x', 'x-foo': 'bar', a: 1 }, { a: 1 }, false],
  ['all-with-x: x- value differs', { 'x-match': 'all-with-x', 'x-foo': 'bar', a: 1 }, { 'x-foo': 'baz', a: 1 }, false],
  ['all-with-x: only the x- pair', { 'x-match': 'all-with-x', 'x-foo': 'bar', a: 1 }, { 'x-foo': 'bar' }, false],
  ['any-with-x: the x- pair', { 'x-match': 'any-with-x', 'x-foo': 'bar' }, { 'x-foo': 'bar' }, true],
  ['any-with-x: the x- pair and more', { 'x-match': 'any-with-x', 'x-foo': 'bar' }, { 'x-foo': 'bar', a: 1 }, true],
  ['any-with-x: x- value differs', { 'x-match': 'any-with-x', 'x-foo': 'bar' }, { 'x-foo': 'baz' }, false],
  ['any-with-x: other headers', { 'x-match': 'any-with-x', 'x-foo': 'bar' }, { a: 1 }, false],
  ['byte 1 = byte 1', { a: 1 }, { a: 1 }, true],
  ['byte 1 = int 1', { a: 1 }, { a: typed('int', 1) }, true],
  ['byte 1 = long 1', { a: 1 }, { a: typed('long', 1) }, true],
  ['byte 1 = short 1', { a: 1 }, { a: typed('short', 1) }, true],
  ['byte 1 = unsigned byte 1', { a: 1 }, { a: typed('unsignedbyte', 1) }, true],
  ['byte 1 = double 1.0', { a: 1 }, { a: typed('double', 1) }, true],
  ['byte 1 = float 1.0', { a: 1 }, { a: typed('float', 1) }, true],
  ['byte 1 = timestamp 1', { a: 1 }, { a: typed('timestamp', 1) }, true],
  ['byte 1 != double 1.5', { a: 1 }, { a: 1.5 }, false],
  ['byte 1 != string "1"', { a: 1 }, { a: '1' }, false],
  ['byte 1 != true', { a: 1 }, { a: true }, false],
  ['long 1 = byte 1', { a: typed('long', 1) }, { a: 1 }, true],
  ['int 1 = byte 1', { a: typed('int', 1) }, { a: 1 }, true],
  ['double 1.0 = byte 1', { a: typed('double', 1) }, { a: 1 }, true],
  ['string "1" = string "1"', { a: '1' }, { a: '1' }, true],
  ['string "1" = byte array "1"', { a: '1' }, { a: Buffer.from('1') }, true],
  ['byte array "1" = string "1"', { a: Buffer.from('1') }, { a: '1' }, true],
  ['string "1" != byte 1', { a: '1' }, { a: 1 }, false],
  ['true = true', { a: true }, { a: true }, true],
  ['true != false', { a: true }, { a: false }, false],
  ['true != byte 1', { a: true }, { a: 1 }, false],
  ['void: any value', { a: null }, { a: 2 }, true],
  ['void: a string', { a: null }, { a: 'x' }, true],
  ['void: void', { a: null }, { a: null }, true],
  ['void: header absent', { a: null }, { b: 1 }, false],
  ['void: no headers', { a: null }, undefined, false],
  ['array: same', { arr: [1, 'x'] }, { arr: [1, 'x'] }, true],
  ['array: other element', { arr: [1, 'x'] }, { arr: [1, 'y'] }, false],
  ['table: same', { tbl: { k: 1 } }, { tbl: { k: 1 } }, true],
  ['table: byte 1 inside for int 1 (no numeric equality inside tables)', { tbl: { k: 1 } }, { tbl: { k: typed('int', 1) } }, false],
];

describe('headers exchange routing', () => {
  let conn: ChannelModel;
  let ch: ConfirmChannel;
  beforeAll(async () => {
    conn = await amqp.connect(suite.broker.url);
    conn.on('error', () => {});
    ch = await conn.createConfirmChannel();
  });
  afterAll(() => conn.close());

  for (const [name, args, headers, matches] of HEADERS_TABLE) {
    it(`${name}: ${matches ? 'matches' : 'does not match'}`, async () => {
      const x = await exchange('headers', {}, ch);
      const q = await boundQueue(ch, x, '', args);
      await publish(ch, x, 'any.key', 'm', headers === undefined ? {} : { headers });
      expect(await drain(ch, q)).toEqual(matches ? ['m'] : []);
      await ch.deleteQueue(q);
    });
  }

  it('ignores the routing key', async () => {
    const x = await exchange('headers', {}, ch);
    const q = await boundQueue(ch, x, 'some-key', { a: 1 });
    await publish(ch, x, 'another-key', 'm', { headers: { a: 1 } });
    expect(await drain(ch, q)).toEqual(['m']);
    await ch.deleteQueue(q);
  });

  it('delivers one copy to a queue whose several bindings match', async () => {
    const x = await exchange('headers', {}, ch);
    const q = await boundQueue(ch, x, 'k1', { 'x-match': 'any', a: 1 });
    await ch.bindQueue(q, x, 'k2', { 'x-match': 'any', b: 1 });
    await publish(ch, x, '', 'both', { headers: { a: 1, b: 1 } });
    await publish(ch, x, '', 'one', { headers: { a: 1 } });
    expect(await drain(ch, q)).toEqual(['both', 'one']);
    await ch.deleteQueue(q);
  });

  it('routes amq.headers and amq.match like any headers exchange', async () => {
    const key = unique('h');
    for (const x of ['amq.headers', 'amq.match']) {
      const q = await boundQueue(ch, x, '', { 'x-match': 'all', key });
      await publish(ch, x, '', 'yes', { headers: { key } });
      await publish(ch, x, '', 'no', { headers: { key: 'other' } });
      expect(await drain(ch, q)).toEqual(['yes']);
      await ch.deleteQueue(q);
    }
  });

  it('closes the channel with 406 on an unknown x-match value', async () => {
    const x = await exchange('headers');
    const q = await queue();
    const { conn: c, ch: bad } = await open();
    await expectChannelError(
      c,
      bad,
      () => bad.bindQueue(q, x, '', { 'x-match': 'foo' }),
      406,
      'PRECONDITION_FAILED - Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x',
      50,
      20,
    );
  });

  it('closes the channel with 406 on an x-match that is not a string', async () => {
    const x = await exchange('headers');
    const q = await queue();
    const { conn: c, ch: bad } = await open();
    await expectChannelError(
      c,
      bad,
      () => bad.bindQueue(q, x, '', { 'x-match': 1 }),
      406,
      'PRECONDITION_FAILED - Invalid x-match field type byte (value 1); expected longstr',
      50,
      20,
    );
  });
});

describe('names with CR and LF', () => {
  // RabbitMQ strips "\r" and "\n" from the names queue.declare, queue.delete, queue.bind/unbind,
  // exchange.declare, exchange.delete and exchange.bind/unbind take (rabbit_channel's strip_cr_lf); the
  // other methods take names as they come.
  it('declares, binds and deletes by the stripped name', async () => {
    const ch = await admin();
    const q = queueName();
    const x = exchangeName();
    const declared = await ch.assertQueue(`${q}\r\n`, { durable: false });
    expect(declared.queue).toBe(q);
    await ch.assertExchange(`\n${x}\r`, 'fanout', { durable: false });
    expect(await exchangeExists(x)).toBe(true);
    await ch.bindQueue(`${q}\n`, `${x}\n`, '');
    const pub = await confirmChannel();
    await publish(pub, x, '', 'through the stripped names');
    await waitForCount(q, 1);
    await ch.unbindQueue(`\r${q}`, `${x}\r`, '');
    await ch.deleteExchange(`${x}\n`);
    expect(await exchangeExists(x)).toBe(false);
    await ch.deleteQueue(`${q}\r`);
    expect(await queueExists(q)).toBe(false);
  });

  it('takes the name of basic.publish as it comes', async () => {
    const x = await exchange('fanout');
    const conn = await connection();
    const ch = await channel(conn);
    await expectChannelError(conn, ch, () => ch.publish(`${x}\n`, '', Buffer.from('x')), 404, notFoundExchange(`${x}\n`), 60, 40);
  });
});

describe("direct reply-to's pseudo-queue", () => {
  it('declares amq.rabbitmq.reply-to, actively or passively, as existing with one consumer', async () => {
    const ch = await admin();
    for (const declared of [await ch.assertQueue('amq.rabbitmq.reply-to'), await ch.checkQueue('amq.rabbitmq.reply-to')]) {
      expect(declared).toEqual({ queue: 'amq.rabbitmq.reply-to', messageCount: 0, consumerCount: 1 });
    }
  });

  it('declares a live reply address as existing, from any connection, and an unknown one as not found', async () => {
    const requester = await channel();
    await requester.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    const q = await queue();
    const server = await channel();
    const address = new Promise<string>((resolve) => void server.consume(q, (m) => m && resolve(m.properties.replyTo), { noAck: true }));
    requester.sendToQueue(q, Buffer.from('request'), { replyTo: 'amq.rabbitmq.reply-to' });
    const replyTo = await address;
    expect(replyTo).toMatch(/^amq\.rabbitmq\.reply-to\.[\w.+/=-]+$/);
    expect(await (await admin()).checkQueue(replyTo)).toEqual({ queue: replyTo, messageCount: 0, consumerCount: 1 });
    const conn = await connection();
    const other = await channel(conn);
    await expectChannelError(conn, other, () => other.checkQueue('amq.rabbitmq.reply-to.nobody'), 404, notFoundQueue('amq.rabbitmq.reply-to.nobody'), 50, 10);
  });
});
