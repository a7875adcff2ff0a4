// Permissions as RabbitMQ checks them: vhost access at connection.open, then configure, write and read
// regular expressions on each exchange and queue a method touches (amq.default for the default exchange).
import amqp, { type ChannelModel } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { scenarioSuite } from '../support/session.js';
import { expectChannelError } from '../support/scenario.js';
import { PROTOCOL_HEADER, RawClient } from '../support/raw-client.js';
import { CONNECTION_CLOSE, CONNECTION_OPEN, CONNECTION_START, CONNECTION_TUNE, CONNECTION_TUNE_OK } from '../../src/protocol/generated/spec.js';

const suite = scenarioSuite();
const users: string[] = [];
afterEach(async () => {
  for (const u of users.splice(0)) await suite.broker.admin.deleteUser(u);
});

const tag = randomBytes(4).toString('hex');

/** A new user with these permissions on '/', connected. */
async function connectAs(p: { configure: string; write: string; read: string } | undefined, tags: string[] = []): Promise<{ conn: ChannelModel; user: string }> {
  const user = `warren-user-${randomBytes(4).toString('hex')}`;
  users.push(user);
  await suite.broker.admin.addUser(user, 'pw', tags);
  if (p) await suite.broker.admin.setPermissions(user, '/', p);
  const url = new URL(suite.broker.url);
  url.username = user;
  url.password = 'pw';
  const conn = await amqp.connect(url.toString());
  conn.on('error', () => {});
  suite.session.conns.push(conn);
  return { conn, user };
}

const refused = (kind: string, name: string, user: string) => `ACCESS_REFUSED - access to ${kind} '${name}' in vhost '/' refused for user '${user}'`;

describe('permissions', () => {
  it('lets a user tagged impersonator publish with another user_id', async () => {
    const { conn } = await connectAs({ configure: '.*', write: '.*', read: '.*' }, ['impersonator']);
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await new Promise((resolve, reject) => ch.sendToQueue(queue, Buffer.from('x'), { userId: 'someone-else' }, (err) => (err ? reject(err) : resolve(0))));
    let m: amqp.GetMessage | false = false;
    while (!m) m = await ch.get(queue, { noAck: true });
    expect(m.properties.userId).toBe('someone-else');
  });

  it('refuses a user without permissions in the vhost at connection.open', async () => {
    const user = `warren-user-${randomBytes(4).toString('hex')}`;
    users.push(user);
    await suite.broker.admin.addUser(user, 'pw');
    const c = await RawClient.connect(suite.broker.port, suite.broker.host);
    c.write(PROTOCOL_HEADER);
    await c.expectMethod(CONNECTION_START);
    c.startOk({ user, password: 'pw' });
    const tune = await c.expectMethod(CONNECTION_TUNE);
    c.method(0, CONNECTION_TUNE_OK, { ...tune, heartbeat: 0 });
    c.method(0, CONNECTION_OPEN, { virtualHost: '/' });
    expect(await c.expectMethod(CONNECTION_CLOSE)).toEqual({ replyCode: 530, replyText: `NOT_ALLOWED - access to vhost '/' refused for user '${user}'`, classId: 10, methodId: 40 });
    c.destroy();
  });

  it('needs configure to declare and delete queues and exchanges, but not to declare passively', async () => {
    const { conn, user } = await connectAs({ configure: `^perm-${tag}-ok`, write: '.*', read: '.*' });
    const ok = `perm-${tag}-ok-q`;
    suite.session.queues.push(ok);
    const ch = await suite.session.channel(conn);
    await ch.assertQueue(ok, { durable: false });
    await ch.checkQueue(ok);
    const denied = `perm-${tag}-no-q`;
    await expectChannelError(conn, ch, () => ch.assertQueue(denied, { durable: false }), 403, refused('queue', denied, user), 50, 10);
    const ch2 = await suite.session.channel(conn);
    await expectChannelError(conn, ch2, () => ch2.deleteQueue(denied), 403, refused('queue', denied, user), 50, 40);
    const ch3 = await suite.session.channel(conn);
    const x = `perm-${tag}-no-x`;
    await expectChannelError(conn, ch3, () => ch3.assertExchange(x, 'fanout', { durable: false }), 403, refused('exchange', x, user), 40, 10);
    const ch4 = await suite.session.channel(conn);
    await ch4.checkExchange('amq.direct');
  });

  it('needs write on the exchange to publish, amq.default for the default exchange', async () => {
    const { conn, user } = await connectAs({ configure: '.*', write: '^amq\\.direct$', read: '.*' });
    const ch = await suite.session.channel(conn);
    ch.publish('amq.direct', 'k', Buffer.from('allowed'));
    await expectChannelError(conn, ch, () => (ch.sendToQueue('anything', Buffer.from('denied')), ch.checkExchange('amq.direct')), 403, refused('exchange', 'amq.default', user), 60, 40);
  });

  it('needs read on the queue to get, consume and purge', async () => {
    const q = `perm-${tag}-read`;
    suite.session.queues.push(q);
    await (await suite.session.admin()).assertQueue(q, { durable: false });
    const { conn, user } = await connectAs({ configure: '.*', write: '.*', read: '^$' });
    let ch = await suite.session.channel(conn);
    await expectChannelError(conn, ch, () => ch.get(q), 403, refused('queue', q, user), 60, 70);
    ch = await suite.session.channel(conn);
    await expectChannelError(conn, ch, () => ch.consume(q, () => {}), 403, refused('queue', q, user), 60, 20);
    ch = await suite.session.channel(conn);
    await expectChannelError(conn, ch, () => ch.purgeQueue(q), 403, refused('queue', q, user), 50, 30);
  });

  it('needs write on the queue and read on the exchange to bind, checked in that order', async () => {
    const q = `perm-${tag}-bind`;
    suite.session.queues.push(q);
    await (await suite.session.admin()).assertQueue(q, { durable: false });
    let { conn, user } = await connectAs({ configure: '.*', write: '^amq\\.', read: '.*' });
    let ch = await suite.session.channel(conn);
    await expectChannelError(conn, ch, () => ch.bindQueue(q, 'amq.direct', 'k'), 403, refused('queue', q, user), 50, 20);
    ({ conn, user } = await connectAs({ configure: '.*', write: '.*', read: '^perm-' }));
    ch = await suite.session.channel(conn);
    await expectChannelError(conn, ch, () => ch.bindQueue(q, 'amq.direct', 'k'), 403, refused('exchange', 'amq.direct', user), 50, 20);
  });
});
