// Definitions move between Warren and a real RabbitMQ both ways: exported by one, imported by the other,
// users keeping their passwords (RabbitMQ's salted SHA-256 hashes), queues their arguments, and
// exchanges, bindings, vhosts and policies alike. Needs RabbitMQ's management API (RABBITMQ_MGMT_URL,
// default rabbitmq-local's 15682); skipped with a reason without one.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { api, type Api } from '../support/management.js';

const rabbitUrl = process.env.RABBITMQ_MGMT_URL ?? 'http://127.0.0.1:15682';
const rabbitReachable = await fetch(`${rabbitUrl}/api/overview`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } }).then(
  (r) => r.ok,
  () => false,
);
if (!rabbitReachable) console.warn(`definitions interop tests skipped: no RabbitMQ management API at ${rabbitUrl} (set RABBITMQ_MGMT_URL)`);

type Defs = Record<string, Record<string, unknown>[]>;
const id = randomBytes(3).toString('hex');
const n = (what: string) => `defs-${what}-${id}`;

/** Only this test's entities (the brokers have others), in the order they refer to each other. */
function ours(defs: Defs): Defs {
  const mine = (v: unknown) => typeof v === 'string' && v.endsWith(`-${id}`);
  return {
    users: defs.users.filter((u) => mine(u.name)),
    vhosts: defs.vhosts.filter((v) => mine(v.name)),
    permissions: defs.permissions.filter((p) => mine(p.user)),
    policies: defs.policies.filter((p) => mine(p.name)),
    queues: defs.queues.filter((q) => mine(q.name)),
    exchanges: defs.exchanges.filter((e) => mine(e.name)),
    bindings: defs.bindings.filter((b) => mine(b.source)),
  };
}

async function populate(on: Api, side: string): Promise<void> {
  const v = encodeURIComponent(n(`${side}-v`));
  expect((await on.put(`/api/vhosts/${v}`, { description: `made on ${side}` })).status).toBe(201);
  expect((await on.put(`/api/users/${n(`${side}-u`)}`, { password: `pw-${side}`, tags: 'management' })).status).toBe(201);
  expect((await on.put(`/api/permissions/${v}/${n(`${side}-u`)}`, { configure: '^defs-', write: '.*', read: '.*' })).status).toBe(201);
  expect((await on.put(`/api/queues/${v}/${n(`${side}-q`)}`, { durable: true, arguments: { 'x-max-length': 42, 'x-queue-type': 'classic' } })).status).toBe(201);
  expect((await on.put(`/api/exchanges/${v}/${n(`${side}-x`)}`, { type: 'topic', durable: true })).status).toBe(201);
  expect((await on.post(`/api/bindings/${v}/e/${n(`${side}-x`)}/q/${n(`${side}-q`)}`, { routing_key: 'a.#', arguments: {} })).status).toBe(201);
  expect((await on.put(`/api/policies/${v}/${n(`${side}-p`)}`, { pattern: '^defs-', definition: { 'max-length-bytes': 1000000 }, 'apply-to': 'queues', priority: 3 })).status).toBe(201);
}

async function expectImported(on: Api, base: string, side: string): Promise<void> {
  const v = encodeURIComponent(n(`${side}-v`));
  expect((await on.get(`/api/queues/${v}/${n(`${side}-q`)}`)).body).toMatchObject({ durable: true, arguments: { 'x-max-length': 42, 'x-queue-type': 'classic' } });
  expect((await on.get(`/api/exchanges/${v}/${n(`${side}-x`)}`)).body).toMatchObject({ type: 'topic', durable: true });
  expect((await on.get(`/api/exchanges/${v}/${n(`${side}-x`)}/bindings/source`)).body).toMatchObject([{ destination: n(`${side}-q`), routing_key: 'a.#' }]);
  expect((await on.get(`/api/policies/${v}/${n(`${side}-p`)}`)).body).toMatchObject({ pattern: '^defs-', 'apply-to': 'queues', priority: 3, definition: { 'max-length-bytes': 1000000 } });
  expect((await on.get(`/api/permissions/${v}/${n(`${side}-u`)}`)).body).toMatchObject({ configure: '^defs-', write: '.*', read: '.*' });
  // the password came along as its hash: the user signs in with it
  expect((await api(base, n(`${side}-u`), `pw-${side}`).get('/api/whoami')).body).toEqual({ name: n(`${side}-u`), tags: ['management'] });
}

describe.skipIf(!rabbitReachable)('definitions between Warren and RabbitMQ', () => {
  let warren: RunningBroker;
  let warrenApi: Api;
  let warrenBase: string;
  const rabbit = api(rabbitUrl, 'guest', 'guest');

  beforeAll(async () => {
    warren = await startBroker({ management: true });
    warrenBase = warren.managementUrl!.replace(/\/\/[^@]*@/, '//');
    warrenApi = api(warrenBase, 'guest', 'guest');
  });
  afterAll(async () => {
    for (const side of ['warren', 'rabbit']) {
      await rabbit.del(`/api/vhosts/${n(`${side}-v`)}`);
      await rabbit.del(`/api/users/${n(`${side}-u`)}`);
    }
    await warren.close();
  });

  it('exports from Warren and imports into RabbitMQ', async () => {
    await populate(warrenApi, 'warren');
    const exported = ours((await warrenApi.get('/api/definitions')).body as Defs);
    expect((await rabbit.post('/api/definitions', exported)).status).toBe(204);
    await expectImported(rabbit, rabbitUrl, 'warren');
  });

  it('exports from RabbitMQ and imports into Warren', async () => {
    await populate(rabbit, 'rabbit');
    const exported = ours((await rabbit.get('/api/definitions')).body as Defs);
    expect((await warrenApi.post('/api/definitions', exported)).status).toBe(204);
    await expectImported(warrenApi, warrenBase, 'rabbit');
  });
});
