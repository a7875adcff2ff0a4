// Topic permissions, set over the management API and enforced over AMQP, as RabbitMQ 3.10 has them:
// write patterns checked against the routing key of a publish to a topic exchange, read patterns
// against the key of a bind or unbind. Runs against Warren or, with AMQP_URL and RABBITMQ_MGMT_URL,
// against a real RabbitMQ.
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';
import { api, type Api } from '../support/management.js';

let broker: TestBroker;
let guest: Api;
const id = randomBytes(3).toString('hex');
const user = `topic-user-${id}`;
const topicX = `topic-x-${id}`;
const directX = `direct-x-${id}`;
const path = `/api/topic-permissions/%2F/${user}`;

/** The refusal RabbitMQ closes the channel with. */
const refusal = (key: string, exchange: string) => `ACCESS_REFUSED - access to topic '${key}' in exchange '${exchange}' in vhost '/' refused for user '${user}'`;

beforeAll(async () => {
  broker = await testBroker({ management: true });
  guest = api(broker.managementUrl!, 'guest', 'guest');
  expect((await guest.put(`/api/users/${user}`, { password: 'pw', tags: '' })).status).toBe(201);
  expect((await guest.put(`/api/permissions/%2F/${user}`, { configure: '.*', write: '.*', read: '.*' })).status).toBe(201);
  expect((await guest.put(`/api/exchanges/%2F/${topicX}`, { type: 'topic', durable: false })).status).toBe(201);
  expect((await guest.put(`/api/exchanges/%2F/${directX}`, { type: 'direct', durable: false })).status).toBe(201);
});
afterAll(async () => {
  await guest.del(`/api/users/${user}`);
  for (const x of [topicX, directX]) await guest.del(`/api/exchanges/%2F/${x}`);
  await broker.close();
});

/** Runs `use` on a fresh channel of the test user; resolves to the channel's close text, or 'ok'. */
async function asUser(use: (ch: amqp.Channel) => Promise<unknown>): Promise<string> {
  const url = new URL(broker.url);
  url.username = user;
  url.password = 'pw';
  const conn = await amqp.connect(url.toString());
  try {
    const ch = await conn.createConfirmChannel();
    const closed = new Promise<string>((resolve) => ch.on('error', (err: Error) => resolve(err.message)));
    ch.on('close', () => {});
    const done = use(ch).then(
      () => 'ok',
      () => closed,
    );
    return await Promise.race([done, closed]);
  } finally {
    await conn.close().catch(() => {});
  }
}

const publish = (exchange: string, key: string) => (ch: amqp.Channel) =>
  new Promise<void>((resolve, reject) => (ch as amqp.ConfirmChannel).publish(exchange, key, Buffer.from('x'), {}, (err) => (err ? reject(err) : resolve())));
const bind = (exchange: string, key: string) => async (ch: amqp.Channel) => {
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(queue, exchange, key);
};
const unbind = (exchange: string, key: string) => async (ch: amqp.Channel) => {
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.unbindQueue(queue, exchange, key);
};

describe('topic permissions over the management API', () => {
  it('creates 201, then 204 for any further exchange of the same user and vhost, and lists them', async () => {
    expect((await guest.put(path, { exchange: topicX, write: '^allowed\\.', read: '^r\\.' })).status).toBe(201);
    expect((await guest.put(path, { exchange: 'amq.topic', write: '^{username}\\.', read: '' })).status).toBe(204);
    const mine = { user, vhost: '/', exchange: 'amq.topic', write: '^{username}\\.', read: '' };
    const other = { user, vhost: '/', exchange: topicX, write: '^allowed\\.', read: '^r\\.' };
    // this one resource's order is the store's own in RabbitMQ, so compared as a set
    expect((await guest.get(path)).body).toEqual(expect.arrayContaining([mine, other]));
    expect((await guest.get(`/api/users/${user}/topic-permissions`)).body).toEqual([mine, other]);
    expect((await guest.get('/api/topic-permissions')).body).toEqual(expect.arrayContaining([mine, other]));
    const byVhost = (await guest.get('/api/vhosts/%2F/topic-permissions')).body as Record<string, string>[];
    expect(Object.keys(byVhost.find((t) => t.user === user)!)).toEqual(['vhost', 'user', 'exchange', 'write', 'read']);
  });

  it('refuses missing keys, an unknown user or vhost, and a bad pattern 400 with RabbitMQ reasons', async () => {
    expect((await guest.put(path, { exchange: topicX, write: 'a' })).body).toEqual({ error: 'bad_request', reason: '[{key_missing,read}]' });
    expect((await guest.put(`/api/topic-permissions/%2F/nobody-${id}`, { exchange: topicX, write: 'a', read: 'b' })).body).toEqual({ error: 'bad_request', reason: 'vhost_or_user_not_found' });
    expect((await guest.put(`/api/topic-permissions/no-vhost-${id}/${user}`, { exchange: topicX, write: 'a', read: 'b' })).body).toEqual({ error: 'bad_request', reason: 'vhost_or_user_not_found' });
    // the pattern as a binary, PCRE's complaint as a list of character codes
    expect((await guest.put(path, { exchange: topicX, write: '(', read: '' })).body).toEqual({
      error: 'bad_request',
      reason: ['invalid_regexp', '(', [[...'missing )'].map((c) => c.charCodeAt(0)), 1]],
    });
  });

  it('answers 404 for a user without topic permissions in the vhost, and for an unknown user', async () => {
    expect((await guest.get('/api/topic-permissions/%2F/guest')).body).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
    expect((await guest.get(`/api/users/nobody-${id}/topic-permissions`)).status).toBe(404);
  });
});

describe('topic permissions over AMQP', () => {
  it('refuses a publish whose routing key the write pattern does not match (403), allows one it matches', async () => {
    expect(await asUser(publish(topicX, 'allowed.1'))).toBe('ok');
    expect(await asUser(publish(topicX, 'denied.1'))).toContain(refusal('denied.1', topicX));
  });

  it('expands {username} in a pattern to the connection’s user', async () => {
    expect(await asUser(publish('amq.topic', `${user}.news`))).toBe('ok');
    expect(await asUser(publish('amq.topic', 'guest.news'))).toContain(refusal('guest.news', 'amq.topic'));
  });

  it('reads an empty pattern as "only the empty routing key"', async () => {
    expect(await asUser(bind('amq.topic', ''))).toBe('ok');
    expect(await asUser(bind('amq.topic', 'a'))).toContain(refusal('a', 'amq.topic'));
  });

  it('checks the read pattern on queue.bind and queue.unbind', async () => {
    expect(await asUser(bind(topicX, 'r.1'))).toBe('ok');
    expect(await asUser(bind(topicX, 'z.1'))).toContain(refusal('z.1', topicX));
    expect(await asUser(unbind(topicX, 'z.1'))).toContain(refusal('z.1', topicX));
  });

  it('checks the read pattern on exchange.bind from a topic exchange', async () => {
    expect(await asUser((ch) => ch.bindExchange(directX, topicX, 'z.1'))).toContain(refusal('z.1', topicX));
    expect(await asUser((ch) => ch.bindExchange(directX, topicX, 'r.1'))).toBe('ok');
  });

  it('leaves exchanges that are not topic exchanges, and exchanges without a topic permission, alone', async () => {
    expect(await asUser(publish(directX, 'denied.1'))).toBe('ok');
    expect(await asUser(publish('amq.match', 'denied.1'))).toBe('ok');
  });

  it('applies a DELETE of one exchange at once (204), then of all (204), then 404', async () => {
    expect((await guest.del(`${path}/${topicX}`)).status).toBe(204);
    expect(await asUser(publish(topicX, 'denied.1'))).toBe('ok');
    expect(await asUser(publish('amq.topic', 'guest.news'))).toContain(refusal('guest.news', 'amq.topic'));
    expect((await guest.del(path)).status).toBe(204);
    expect(await asUser(publish('amq.topic', 'guest.news'))).toBe('ok');
    expect((await guest.del(path)).status).toBe(404);
  });
});

describe('topic permissions in definitions', () => {
  it('exports them and imports them back', async () => {
    await guest.put(path, { exchange: topicX, write: 'w', read: 'r' });
    const defs = (await guest.get('/api/definitions')).body as { topic_permissions: object[] };
    expect(defs.topic_permissions).toContainEqual({ user, vhost: '/', exchange: topicX, write: 'w', read: 'r' });
    await guest.del(path);
    expect((await guest.post('/api/definitions', { topic_permissions: [{ user, vhost: '/', exchange: topicX, write: 'w2', read: 'r2' }] })).status).toBe(204);
    expect((await guest.get(path)).body).toEqual([{ user, vhost: '/', exchange: topicX, write: 'w2', read: 'r2' }]);
  });

  it('go with their user', async () => {
    await guest.put(path, { exchange: topicX, write: 'w', read: 'r' });
    await guest.del(`/api/users/${user}`);
    expect(((await guest.get('/api/topic-permissions')).body as { user: string }[]).some((t) => t.user === user)).toBe(false);
  });
});
