// The management HTTP API, asserted as RabbitMQ 3.10 answers: status codes, headers, JSON shapes and
// error bodies. Runs against Warren (its API started in this process) or, with AMQP_URL and
// RABBITMQ_MGMT_URL, against a real RabbitMQ:
// AMQP_URL=amqp://guest:guest@127.0.0.1:5682/ RABBITMQ_MGMT_URL=http://127.0.0.1:15682 npx vitest run test/management
import amqp from 'amqplib';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';
import { api, eventually, rawGet, type Api } from '../support/management.js';
import { RawClient } from '../support/raw-client.js';

let broker: TestBroker;
let guest: Api;
const id = randomBytes(3).toString('hex');
const name = (what: string) => `mgmt-${what}-${id}`;

beforeAll(async () => {
  broker = await testBroker({ management: true });
  guest = api(broker.managementUrl!, 'guest', 'guest');
});
afterAll(async () => {
  for (const q of ['q1', 'q2', 'q3', 'qp', 'get', 'pol', 'def']) await guest.del(`/api/queues/%2F/${name(q)}`);
  for (const x of ['x1', 'xdef']) await guest.del(`/api/exchanges/%2F/${name(x)}`);
  for (const u of ['admin', 'mon', 'mgmt', 'pol', 'none', 'hash', 'conn']) await guest.del(`/api/users/${name(u)}`);
  for (const v of ['v', 'vdef', 'vdq', 'vdqdef', 'vlim', 'vlimdef']) await guest.del(`/api/vhosts/${name(v)}`);
  await guest.del(`/api/policies/%2F/${name('p')}`);
  await broker.close();
});

describe('requests and refusals', () => {
  it('answers without credentials 401 with an empty body and the Basic realm', async () => {
    const res = await fetch(`${broker.managementUrl}/api/overview`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
    expect(await res.text()).toBe('');
  });

  it('answers a wrong password 401 not_authorized "Login failed" (American spelling)', async () => {
    const res = await api(broker.managementUrl!, 'guest', 'wrong').get('/api/overview');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'not_authorized', reason: 'Login failed' });
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
  });

  it('answers an undecodable Basic header 400 with an empty body', async () => {
    const res = await fetch(`${broker.managementUrl}/api/overview`, { headers: { authorization: 'Basic !!!notbase64' } });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('');
  });

  it('answers an unknown path 404 Object Not Found, even without credentials', async () => {
    const res = await fetch(`${broker.managementUrl}/api/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
  });

  it('answers a method the path lacks 405 with Allow, and OPTIONS 200 with Allow', async () => {
    const patch = await guest.request('PATCH', '/api/overview');
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('HEAD, GET, OPTIONS');
    const options = await guest.request('OPTIONS', '/api/overview');
    expect(options.status).toBe(200);
    expect(options.headers.get('allow')).toBe('HEAD, GET, OPTIONS');
  });

  it('answers a request target no URL parser takes with an empty 400, and goes on serving', async () => {
    const { status, body } = await rawGet(broker.managementUrl!, '//%%');
    expect({ status, body }).toEqual({ status: 400, body: '' });
    expect((await guest.get('/api/overview')).status).toBe(200);
  });

  it('redirects /api to /api/index.html (301)', async () => {
    const res = await fetch(`${broker.managementUrl}/api`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/api/index.html');
  });

  it('refuses an Accept it cannot meet with 406, and serves JSON to application/json', async () => {
    expect((await guest.request('GET', '/api/whoami', undefined, { accept: 'text/xml' })).status).toBe(406);
    const json = await guest.request('GET', '/api/whoami', undefined, { accept: 'application/json' });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(json.headers.get('cache-control')).toBe('no-cache');
  });

  it('shows who is signed in: name and tags', async () => {
    expect((await guest.get('/api/whoami')).body).toEqual({ name: 'guest', tags: ['administrator'] });
  });
});

describe('users and their tags decide what each may do', () => {
  const users: Record<string, Api> = {};
  beforeAll(async () => {
    for (const [who, tags] of [['admin', 'administrator'], ['mon', 'monitoring'], ['mgmt', 'management'], ['pol', 'policymaker'], ['none', '']] as const) {
      expect([201, 204]).toContain((await guest.put(`/api/users/${name(who)}`, { password: 'pw', tags })).status);
      expect([201, 204]).toContain((await guest.put(`/api/permissions/%2F/${name(who)}`, { configure: '.*', write: '.*', read: '.*' })).status);
      users[who] = api(broker.managementUrl!, name(who), 'pw');
    }
    await guest.put(`/api/vhosts/${name('v')}`, {});
  });

  it('refuses a user without a management tag: 401 "Not management user"', async () => {
    const res = await users.none.get('/api/overview');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'not_authorised', reason: 'Not management user' });
    expect(res.headers.get('www-authenticate')).toBeNull();
  });

  it('keeps user administration to administrators: 401 "Not administrator user"', async () => {
    for (const who of ['mon', 'mgmt', 'pol']) expect((await users[who].get('/api/users')).body).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
    expect((await users.admin.get('/api/users')).status).toBe(200);
  });

  it('lets policymakers, not monitoring users, set policies', async () => {
    const policy = { pattern: `^${name('nothing')}$`, definition: { 'max-length': 1 } };
    expect((await users.mon.put(`/api/policies/%2F/${name('p')}`, policy)).body).toEqual({ error: 'not_authorised', reason: 'User not authorised to access object' });
    expect((await users.pol.put(`/api/policies/%2F/${name('p')}`, policy)).status).toBe(201);
    expect((await users.pol.del(`/api/policies/%2F/${name('p')}`)).status).toBe(204);
  });

  it('refuses a vhost the user has no permissions in', async () => {
    const res = await users.mgmt.get(`/api/queues/${name('v')}`);
    expect(res.body).toEqual({ error: 'not_authorised', reason: 'User not authorised to access virtual host' });
    expect((await users.mgmt.get(`/api/vhosts/${name('v')}`)).body).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
  });

  it('lists to a management user only the vhosts it may use, to a monitoring user all', async () => {
    const mgmt = ((await users.mgmt.get('/api/vhosts')).body as { name: string }[]).map((v) => v.name);
    const mon = ((await users.mon.get('/api/vhosts')).body as { name: string }[]).map((v) => v.name);
    expect(mgmt).not.toContain(name('v'));
    expect(mon).toContain(name('v'));
  });

  it('answers a user PUT without tags 400 tags_not_present', async () => {
    expect((await guest.put(`/api/users/${name('hash')}`, { password: 'x' })).body).toEqual({ error: 'bad_request', reason: 'tags_not_present' });
  });

  it('keeps a password_hash as given, and signs in with the password behind it', async () => {
    // RabbitMQ's rabbit_password_hashing_sha256: base64 of a 4-byte salt and SHA-256(salt, password)
    const salt = Buffer.from('908dc60a', 'hex');
    const hash = Buffer.concat([salt, createHash('sha256').update(salt).update('secret').digest()]).toString('base64');
    expect((await guest.put(`/api/users/${name('hash')}`, { password_hash: hash, tags: 'management' })).status).toBe(201);
    const user = (await guest.get(`/api/users/${name('hash')}`)).body;
    expect(user).toEqual({ name: name('hash'), password_hash: hash, hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['management'], limits: {} });
    expect((await api(broker.managementUrl!, name('hash'), 'secret').get('/api/whoami')).status).toBe(200);
    expect((await guest.put(`/api/users/${name('hash')}`, { password_hash: hash, tags: ['management', 'monitoring'] })).status).toBe(204);
    expect(((await guest.get(`/api/users/${name('hash')}`)).body as { tags: string[] }).tags).toEqual(['management', 'monitoring']);
  });

  it('answers permissions with missing keys, an unknown user, or a bad pattern 400 with RabbitMQ reasons', async () => {
    expect((await guest.put(`/api/permissions/%2F/${name('hash')}`, { configure: '.*' })).body).toEqual({ error: 'bad_request', reason: '[{key_missing,write},{key_missing,read}]' });
    expect((await guest.put(`/api/permissions/%2F/nobody-${id}`, { configure: '.*', write: '.*', read: '.*' })).body).toEqual({ error: 'bad_request', reason: 'vhost_or_user_not_found' });
    const bad = await guest.put(`/api/permissions/%2F/${name('hash')}`, { configure: '(', write: '.*', read: '.*' });
    expect(bad.status).toBe(400);
    expect((bad.body as { reason: unknown[] }).reason[0]).toBe('invalid_regexp');
  });

  it("lists a vhost's permissions vhost first, a user's user first, as RabbitMQ orders the fields", async () => {
    const byVhost = (await guest.get('/api/vhosts/%2F/permissions')).body as object[];
    expect(Object.keys(byVhost[0])).toEqual(['vhost', 'user', 'configure', 'write', 'read']);
    const byUser = (await guest.get('/api/users/guest/permissions')).body as object[];
    expect(Object.keys(byUser[0])).toEqual(['user', 'vhost', 'configure', 'write', 'read']);
  });

  it('creates a vhost 201, updates it 204, deletes it 204, then 404', async () => {
    const v = `/api/vhosts/${name('vdef')}`;
    expect((await guest.put(v, { description: 'for tests' })).status).toBe(201);
    expect((await guest.put(v, { description: 'still for tests' })).status).toBe(204);
    expect(((await guest.get(v)).body as { description: string }).description).toBe('still for tests');
    // what a PUT leaves out is cleared
    expect((await guest.put(v, { tags: 'x' })).status).toBe(204);
    expect((await guest.get(v)).body).toMatchObject({ description: '', tags: ['x'] });
    expect((await guest.del(v)).status).toBe(204);
    expect((await guest.del(v)).body).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
  });

  it('takes a default queue type (defaultqueuetype) when it makes a vhost, and keeps it through updates', async () => {
    const v = `/api/vhosts/${name('vdq')}`;
    expect((await guest.put(v, { defaultqueuetype: 'quorum' })).status).toBe(201);
    expect((await guest.put(v, { defaultqueuetype: 'stream', description: 'd' })).status).toBe(204);
    expect((await guest.get(v)).body).toMatchObject({ default_queue_type: 'quorum', metadata: { default_queue_type: 'quorum', description: 'd', tags: [] } });
    expect(Object.keys(((await guest.get(v)).body as { metadata: object }).metadata)).toEqual(['default_queue_type', 'description', 'tags']);
    // the definitions export names the vhost and nothing more
    const defs = (await guest.get('/api/definitions')).body as { vhosts: { name: string }[] };
    expect(defs.vhosts.find((x) => x.name === name('vdq'))).toEqual({ name: name('vdq') });
    // a vhost made without one says so with the string 'undefined'
    expect((await guest.get(`/api/vhosts/${name('v')}`)).body).toMatchObject({ default_queue_type: 'undefined', metadata: { description: '', tags: [] } });
    // definitions bring it in their vhost metadata
    expect((await guest.post('/api/definitions', { vhosts: [{ name: name('vdqdef'), metadata: { default_queue_type: 'stream', description: 'imported' } }] })).status).toBe(204);
    expect((await guest.get(`/api/vhosts/${name('vdqdef')}`)).body).toMatchObject({ default_queue_type: 'stream', description: 'imported' });
    // an unknown type: RabbitMQ's 500, its text as an Erlang string, and no vhost
    const bad = `/api/vhosts/${name('vdqbad')}`;
    expect(await guest.put(bad, { defaultqueuetype: 'bogus' })).toMatchObject({ status: 500, body: { error: [...Buffer.from('Error occured while adding vhost')], reason: 'invalid_queue_type' } });
    expect((await guest.get(bad)).status).toBe(404);
  });

  it('gives a durable queue declared without x-queue-type the default type of its vhost, when that type can have it', async () => {
    await guest.put(`/api/vhosts/${name('vdq')}`, { defaultqueuetype: 'quorum' });
    const url = new URL(broker.url);
    url.pathname = `/${encodeURIComponent(name('vdq'))}`;
    const conn = await amqp.connect(url.toString());
    conn.on('error', () => undefined);
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.assertQueue('durable', { durable: true });
      await ch.assertQueue('transient', { durable: false });
      await ch.assertQueue('auto-delete', { durable: true, autoDelete: true });
      await ch.assertQueue('classic', { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await ch.assertQueue('durable', { durable: true });
      const reply = await eventually(broker, () => guest.get(`/api/queues/${name('vdq')}?columns=name,type,arguments`), (r) => (r.body as object[]).length === 4);
      const queues = reply.body as { name: string; type: string; arguments: object }[];
      expect(Object.fromEntries(queues.map((q) => [q.name, [q.type, q.arguments]]))).toEqual({
        durable: ['quorum', { 'x-queue-type': 'quorum' }],
        transient: ['classic', {}],
        'auto-delete': ['classic', {}],
        classic: ['classic', { 'x-queue-type': 'classic' }],
      });
      // a server-named queue cannot be a quorum queue
      await expect(ch.assertQueue('', { durable: true })).rejects.toThrow('Cannot declare a server-named queue for type rabbit_quorum_queue');
    } finally {
      await conn.close().catch(() => undefined);
    }
  });
});

describe('vhost limits', () => {
  const limits = `/api/vhost-limits/${name('vlim')}`;
  const vhostUrl = () => {
    const url = new URL(broker.url);
    url.pathname = `/${encodeURIComponent(name('vlim'))}`;
    return url.toString();
  };

  it('sets, shows and clears max-connections and max-queues with the answers of RabbitMQ', async () => {
    expect((await guest.put(`/api/vhosts/${name('vlim')}`, {})).status).toBe(201);
    expect((await guest.get(limits)).body).toEqual([]);
    expect((await guest.put(`${limits}/max-queues`, { value: 1 })).status).toBe(204);
    expect((await guest.put(`${limits}/max-connections`, { value: -1 })).status).toBe(204);
    expect((await guest.get(limits)).body).toEqual([{ vhost: name('vlim'), value: { 'max-connections': -1, 'max-queues': 1 } }]);
    expect(((await guest.get('/api/vhost-limits')).body as { vhost: string }[]).filter((l) => l.vhost === name('vlim'))).toHaveLength(1);
    expect(await guest.put(`${limits}/max-bogus`, { value: 1 })).toMatchObject({ status: 400, body: { error: 'bad_request', reason: 'Validation failed\n\nUnrecognised terms [{<<"max-bogus">>,1}] in limits\n' } });
    expect(await guest.put(`${limits}/max-queues`, { value: 'x' })).toMatchObject({ status: 400, body: { reason: 'Validation failed\n\nmax-queues should be a number, actually was <<"x">>\n' } });
    expect(await guest.put(`${limits}/max-queues`, {})).toMatchObject({ status: 400, body: { reason: '[{key_missing,value}]' } });
    expect(await guest.put(`/api/vhost-limits/${name('nolim')}/max-queues`, { value: 1 })).toMatchObject({ status: 404, body: { error: 'not_found', reason: 'vhost_not_found' } });
    expect((await guest.del(`${limits}/max-connections`)).status).toBe(204);
    expect((await guest.del(`${limits}/max-connections`)).status).toBe(204);
    expect((await guest.get(limits)).body).toEqual([{ vhost: name('vlim'), value: { 'max-queues': 1 } }]);
    // definitions carry them as the vhost-limits runtime parameter, both ways
    const exported = (await guest.get('/api/definitions')).body as { parameters: { vhost: string }[] };
    const parameter = { value: { 'max-queues': 1 }, vhost: name('vlim'), component: 'vhost-limits', name: 'limits' };
    expect(exported.parameters.filter((p) => p.vhost === name('vlim'))).toEqual([parameter]);
    expect(Object.keys(exported.parameters.find((p) => p.vhost === name('vlim'))!)).toEqual(['value', 'vhost', 'component', 'name']);
    const imported = { vhosts: [{ name: name('vlimdef') }], parameters: [{ ...parameter, vhost: name('vlimdef'), value: { 'max-queues': 7 } }] };
    expect((await guest.post('/api/definitions', imported)).status).toBe(204);
    expect((await guest.get(`/api/vhost-limits/${name('vlimdef')}`)).body).toEqual([{ vhost: name('vlimdef'), value: { 'max-queues': 7 } }]);
    if (broker.embedded) {
      // Warren's own refusal, a sentence: a value that is no object of limits is not taken silently
      const broken = { parameters: [{ ...parameter, vhost: name('vlimdef'), value: 5 }] };
      expect(await guest.post('/api/definitions', broken)).toMatchObject({ status: 400, body: { reason: expect.stringContaining('must be an object of limits') } });
    }
  });

  it('refuses a queue past max-queues (406 over AMQP, 400 over HTTP) and a connection past max-connections (530)', async () => {
    await guest.put(`/api/vhosts/${name('vlim')}`, {});
    await guest.put(`${limits}/max-queues`, { value: 1 });
    const conn = await amqp.connect(vhostUrl());
    conn.on('error', () => undefined);
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await ch.assertQueue('only');
      await ch.assertQueue('only');
      await expect(ch.assertQueue('second')).rejects.toThrow(`PRECONDITION_FAILED - cannot declare queue 'second': queue limit in vhost '${name('vlim')}' (1) is reached`);
      expect(await guest.put(`/api/queues/${name('vlim')}/second`, {})).toMatchObject({ status: 400, body: { error: 'bad_request', reason: `cannot declare queue 'second': queue limit in vhost '${name('vlim')}' (1) is reached` } });
      await guest.put(`${limits}/max-connections`, { value: 1 });
      const raw = await RawClient.connect(broker.port, broker.host);
      const refused = await raw.handshake({ vhost: name('vlim') }).then(
        () => 'opened',
        (e: Error) => e.message,
      );
      raw.destroy();
      const text = `NOT_ALLOWED - access to vhost '${name('vlim')}' refused for user 'guest': connection limit (1) is reached`;
      expect(refused).toContain(JSON.stringify({ replyCode: 530, replyText: text, classId: 10, methodId: 40 }));
    } finally {
      await conn.close().catch(() => undefined);
      await guest.del(`${limits}/max-connections`);
      await guest.del(`/api/queues/${name('vlim')}/only`);
    }
  });
});

describe('queues', () => {
  const q1 = `/api/queues/%2F/${name('q1')}`;

  it('declares 201, redeclares 204, refuses an inequivalent one 400 with the AMQP text', async () => {
    expect((await guest.put(q1, { durable: true, arguments: { 'x-max-length': 10 } })).status).toBe(201);
    expect((await guest.put(q1, { durable: true, arguments: { 'x-max-length': 10 } })).status).toBe(204);
    expect((await guest.put(q1, { durable: true, arguments: { 'x-max-length': 20 } })).body).toEqual({
      error: 'bad_request',
      reason: `inequivalent arg 'x-max-length' for queue '${name('q1')}' in vhost '/': received '20' but current is '10'`,
    });
  });

  it('refuses a non-boolean durable, bad JSON, and an unknown vhost as RabbitMQ does', async () => {
    expect((await guest.put(`/api/queues/%2F/${name('q2')}`, { durable: 'yes' })).body).toEqual({ error: 'bad_request', reason: ['not_boolean', 'yes'] });
    expect((await guest.request('PUT', `/api/queues/%2F/${name('q2')}`, '{nope')).body).toEqual({ error: 'bad_request', reason: 'not_json' });
    expect((await guest.put(`/api/queues/nope-${id}/${name('q2')}`, {})).body).toEqual({ error: 'not_found', reason: 'vhost_not_found' });
    expect((await guest.get(`/api/queues/%2F/${name('q2')}`)).status).toBe(404);
  });

  it('shows the queue as RabbitMQ does, counting what was published', async () => {
    const published = await guest.post('/api/exchanges/%2F/amq.default/publish', { routing_key: name('q1'), properties: { delivery_mode: 2, headers: { a: 1 } }, payload: 'm1', payload_encoding: 'string' });
    expect(published.body).toEqual({ routed: true });
    const q = await eventually(broker, () => guest.get(q1), (r) => (r.body as { messages?: number }).messages === 1);
    expect(q.body).toMatchObject({ name: name('q1'), vhost: '/', durable: true, auto_delete: false, exclusive: false, type: 'classic', arguments: { 'x-max-length': 10 }, messages: 1, messages_ready: 1, messages_unacknowledged: 0, consumers: 0 });
    expect(q.body).toHaveProperty('consumer_details', []);
    expect(q.body).toHaveProperty('messages_details.rate');
  });

  it('gets messages with each ackmode, encoding and truncate', async () => {
    const q = `/api/queues/%2F/${name('get')}`;
    await guest.put(q, {});
    for (const payload of ['m1', 'm2']) await guest.post('/api/exchanges/%2F/amq.default/publish', { routing_key: name('get'), properties: {}, payload, payload_encoding: 'string' });
    const requeued = await guest.post(`${q}/get`, { count: 5, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 50000 });
    expect(requeued.body).toEqual([
      { payload_bytes: 2, redelivered: false, exchange: '', routing_key: name('get'), message_count: 1, properties: [], payload: 'm1', payload_encoding: 'string' },
      { payload_bytes: 2, redelivered: false, exchange: '', routing_key: name('get'), message_count: 0, properties: [], payload: 'm2', payload_encoding: 'string' },
    ]);
    const base64 = await guest.post(`${q}/get`, { count: 1, ackmode: 'reject_requeue_true', encoding: 'base64', truncate: 1 });
    expect(base64.body).toMatchObject([{ payload_bytes: 2, redelivered: true, payload: 'bQ==', payload_encoding: 'base64' }]);
    const taken = await guest.post(`${q}/get`, { count: 2, ackmode: 'ack_requeue_false', encoding: 'auto' });
    expect((taken.body as unknown[]).length).toBe(2);
    expect((await guest.post(`${q}/get`, { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' })).body).toEqual([]);
  });

  it('crashes on an unknown ackmode as RabbitMQ does (an empty 500)', async () => {
    const res = await guest.post(`/api/queues/%2F/${name('get')}/get`, { count: 1, ackmode: 'nonsense', encoding: 'auto' });
    expect(res.status).toBe(500);
  });

  it('purges with DELETE …/contents, and refuses if-empty on a queue with messages', async () => {
    expect((await guest.del(`${q1}?if-empty=true`)).body).toEqual({ error: 'bad_request', reason: `queue '${name('q1')}' in vhost '/' not empty` });
    expect((await guest.del(`${q1}/contents`)).status).toBe(204);
    await eventually(broker, () => guest.get(q1), (r) => (r.body as { messages?: number }).messages === 0);
    expect((await guest.del(`${q1}?if-empty=true`)).status).toBe(204);
    expect((await guest.del(q1)).status).toBe(404);
  });

  it('pages, filters and sorts lists with RabbitMQ envelope and errors', async () => {
    for (const q of ['q2', 'q3']) await guest.put(`/api/queues/%2F/${name(q)}`, {});
    const page = await guest.get(`/api/queues?page=1&page_size=1&name=${encodeURIComponent(`^mgmt-q[23]-${id}$`)}&use_regex=true&sort=name&sort_reverse=true`);
    expect(page.body).toMatchObject({ filtered_count: 2, item_count: 1, page: 1, page_count: 2, page_size: 1, items: [{ name: name('q3') }] });
    expect((await guest.get('/api/queues?page=1&page_size=1000')).body).toEqual({ error: 'invalid_pagination_parameters', reason: 'Invalid pagination parameters: page number 1, page size 1000' });
    const columns = await guest.get(`/api/queues/%2F?columns=name,durable&page=1&name=${name('q3')}`);
    expect((columns.body as { items: unknown[] }).items).toEqual([{ name: name('q3'), durable: false }]);
    // without a page RabbitMQ ignores the name
    const unpaged = (await guest.get(`/api/queues/%2F?columns=name&name=${name('q3')}`)).body as { name: string }[];
    expect(unpaged.map((q) => q.name)).toContain(name('q2'));
  });
});

describe('exchanges and bindings', () => {
  const x1 = `/api/exchanges/%2F/${name('x1')}`;

  it('names the default exchange amq.default in paths', async () => {
    expect((await guest.get('/api/exchanges/%2F/amq.default')).body).toMatchObject({ name: '', type: 'direct', durable: true });
  });

  it('declares an exchange 201 and shows who declared it', async () => {
    expect((await guest.put(x1, { type: 'topic', durable: true })).status).toBe(201);
    expect((await guest.get(x1)).body).toMatchObject({ name: name('x1'), type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {}, user_who_performed_action: 'guest', incoming: [], outgoing: [] });
  });

  it('binds 201 with a relative location whose properties key is encoded twice, finds and deletes it by that key', async () => {
    await guest.put(`/api/queues/%2F/${name('qp')}`, {});
    const bound = await guest.post(`/api/bindings/%2F/e/${name('x1')}/q/${name('qp')}`, { routing_key: 'a.#' });
    expect(bound.status).toBe(201);
    expect(bound.headers.get('location')).toBe(`${name('qp')}/a.%2523`);
    const listed = await guest.get(`/api/queues/%2F/${name('qp')}/bindings`);
    expect(listed.body).toEqual([
      { source: '', vhost: '/', destination: name('qp'), destination_type: 'queue', routing_key: name('qp'), arguments: {}, properties_key: name('qp') },
      { source: name('x1'), vhost: '/', destination: name('qp'), destination_type: 'queue', routing_key: 'a.#', arguments: {}, properties_key: 'a.%23' },
    ]);
    const one = `/api/bindings/%2F/e/${name('x1')}/q/${name('qp')}/a.%2523`;
    expect((await guest.get(one)).body).toMatchObject({ routing_key: 'a.#' });
    expect((await guest.post(`${x1}/publish`, { routing_key: 'a.b', properties: {}, payload: 'x', payload_encoding: 'string' })).body).toEqual({ routed: true });
    expect((await guest.post(`${x1}/publish`, { routing_key: 'b', properties: {}, payload: 'x', payload_encoding: 'string' })).body).toEqual({ routed: false });
    expect((await guest.del(one)).status).toBe(204);
    expect((await guest.get(one)).status).toBe(404);
  });

  it('answers publishing to a missing exchange 400 with the channel error, and missing keys with key_missing', async () => {
    expect((await guest.post(`/api/exchanges/%2F/nope-${id}/publish`, { routing_key: 'a', properties: {}, payload: 'x', payload_encoding: 'string' })).body).toEqual({
      error: 'bad_request',
      reason: `404 NOT_FOUND - no exchange 'nope-${id}' in vhost '/'`,
    });
    expect((await guest.post(`${x1}/publish`, { payload: 'x' })).body).toEqual({ error: 'bad_request', reason: '[{key_missing,routing_key},\n {key_missing,properties},\n {key_missing,payload_encoding}]' });
  });

  it('answers a binding to a missing queue 404 not_found with the AMQP text', async () => {
    expect((await guest.post(`/api/bindings/%2F/e/${name('x1')}/q/nope-${id}`, {})).body).toEqual({ error: 'not_found', reason: `no queue 'nope-${id}' in vhost '/'` });
  });
});

describe('policies', () => {
  const p = `/api/policies/%2F/${name('p')}`;

  it('creates 201, updates 204, shows it, and it takes effect on the queues it matches', async () => {
    await guest.put(`/api/queues/%2F/${name('pol')}`, {});
    expect((await guest.put(p, { pattern: `^${name('pol')}$`, definition: { 'max-length': 5 }, 'apply-to': 'queues', priority: 1 })).status).toBe(201);
    expect((await guest.put(p, { pattern: `^${name('pol')}$`, definition: { 'max-length': 5 }, 'apply-to': 'queues', priority: 1 })).status).toBe(204);
    expect((await guest.get(p)).body).toEqual({ vhost: '/', name: name('p'), pattern: `^${name('pol')}$`, 'apply-to': 'queues', definition: { 'max-length': 5 }, priority: 1 });
    const q = await eventually(broker, () => guest.get(`/api/queues/%2F/${name('pol')}`), (r) => (r.body as { policy?: string }).policy === name('p'));
    expect(q.body).toMatchObject({ effective_policy_definition: { 'max-length': 5 } });
  });

  it('refuses invalid definitions with RabbitMQ validation text, HTML-escaped', async () => {
    expect((await guest.put(p, { pattern: '.*', definition: { 'max-length': 'five' } })).body).toEqual({ error: 'bad_request', reason: 'Validation failed\n\n&lt;&lt;"five"&gt;&gt; is not a valid maximum length\n' });
    expect((await guest.put(p, { definition: { 'max-length': 1 } })).body).toEqual({ error: 'bad_request', reason: '[{key_missing,pattern}]' });
  });

  it('deletes 204, then 404', async () => {
    expect((await guest.del(p)).status).toBe(204);
    expect((await guest.del(p)).status).toBe(404);
  });
});

describe('connections, channels and consumers', () => {
  it('lists an AMQP connection with its channels and consumers, and closes it with X-Reason as 320', async () => {
    const conn = await amqp.connect(broker.url, { clientProperties: { connection_name: name('conn') } });
    const ch = await conn.createChannel();
    await ch.assertQueue(name('q2'), { durable: false });
    await ch.consume(name('q2'), () => {}, { consumerTag: name('tag') });
    type Conn = { name: string; user_provided_name: string; user: string; vhost: string; channels: number; protocol: string };
    const listed = await eventually(broker, () => guest.get('/api/connections'), (r) => (r.body as Conn[]).some((c) => c.user_provided_name === name('conn') && c.channels === 1));
    const c = (listed.body as Conn[]).find((x) => x.user_provided_name === name('conn'))!;
    expect(c).toMatchObject({ user: 'guest', vhost: '/', protocol: 'AMQP 0-9-1' });
    expect(c.name).toMatch(/^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
    const channels = await guest.get(`/api/connections/${encodeURIComponent(c.name)}/channels`);
    expect((channels.body as { name: string }[])[0].name).toBe(`${c.name} (1)`);
    const consumers = await eventually(broker, () => guest.get('/api/consumers/%2F'), (r) => (r.body as { consumer_tag: string }[]).some((x) => x.consumer_tag === name('tag')));
    expect((consumers.body as object[]).find((x) => (x as { consumer_tag: string }).consumer_tag === name('tag'))).toMatchObject({ ack_required: true, exclusive: false, queue: { name: name('q2'), vhost: '/' } });
    // amqplib reports a 320 as a close with its error, not as an error event
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    expect((await guest.request('DELETE', `/api/connections/${encodeURIComponent(c.name)}`, undefined, { 'x-reason': 'test closing' })).status).toBe(204);
    expect((await closed).message).toMatch(/320 \(CONNECTION-FORCED\) with message "CONNECTION_FORCED - test closing"/);
    await eventually(broker, () => guest.get(`/api/connections/${encodeURIComponent(c.name)}`), (r) => r.status === 404);
  });
});

describe('the overview', () => {
  it('counts confirms, deliveries and acks node-wide in message_stats', async () => {
    type Stats = { message_stats?: Record<string, number> };
    const before = ((await guest.get('/api/overview')).body as Stats).message_stats ?? {};
    const conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(name('q3'), { durable: false });
    ch.sendToQueue(name('q3'), Buffer.from('x'));
    await ch.waitForConfirms();
    let got: amqp.GetMessage | false = false;
    while (!got) got = await ch.get(name('q3'));
    ch.ack(got);
    // a round trip, so that the ack is in before the close (amqplib closes before sending it otherwise)
    await ch.checkQueue(name('q3'));
    await conn.close();
    const grew = (s: Stats, key: string) => (s.message_stats?.[key] ?? 0) > (before[key] ?? 0);
    const after = await eventually(broker, () => guest.get('/api/overview'), (r) => ['publish', 'confirm', 'get', 'deliver_get', 'ack'].every((k) => grew(r.body as Stats, k)));
    expect((after.body as Stats).message_stats).toMatchObject({ confirm_details: { rate: expect.any(Number) }, ack_details: { rate: expect.any(Number) } });
  });
});

describe('definitions', () => {
  it('exports RabbitMQ fields', async () => {
    const defs = (await guest.get('/api/definitions')).body as Record<string, unknown>;
    for (const key of ['rabbit_version', 'rabbitmq_version', 'product_name', 'product_version', 'users', 'vhosts', 'permissions', 'topic_permissions', 'parameters', 'global_parameters', 'policies', 'queues', 'exchanges', 'bindings']) expect(defs).toHaveProperty(key);
    expect(defs.product_name).toBe('RabbitMQ');
    expect((defs.users as { name: string; hashing_algorithm: string }[]).find((u) => u.name === 'guest')).toMatchObject({ hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] });
  });

  it('imports 204: vhosts, queues, exchanges and bindings, and refuses bad JSON with failed_to_parse_json', async () => {
    const imported = await guest.post('/api/definitions', {
      vhosts: [{ name: name('vdef') }],
      queues: [{ name: name('def'), vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 3 } }],
      exchanges: [{ name: name('xdef'), vhost: '/', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
      bindings: [{ source: name('xdef'), vhost: '/', destination: name('def'), destination_type: 'queue', routing_key: '', arguments: {} }],
    });
    expect(imported.status).toBe(204);
    expect((await guest.get(`/api/vhosts/${name('vdef')}`)).status).toBe(200);
    expect((await guest.get(`/api/queues/%2F/${name('def')}`)).body).toMatchObject({ durable: true, arguments: { 'x-max-length': 3 } });
    expect((await guest.get(`/api/exchanges/%2F/${name('xdef')}/bindings/source`)).body).toMatchObject([{ destination: name('def') }]);
    expect((await guest.request('POST', '/api/definitions', '{nope')).body).toEqual({ error: 'bad_request', reason: 'failed_to_parse_json' });
  });
});

describe('health checks', () => {
  it('says ok for alarms, virtual hosts, quorum criticality and the AMQP listener; 503 for a port nobody listens on', async () => {
    expect((await guest.get('/api/health/checks/alarms')).body).toEqual({ status: 'ok' });
    expect((await guest.get('/api/health/checks/virtual-hosts')).body).toEqual({ status: 'ok' });
    expect((await guest.get('/api/health/checks/node-is-quorum-critical')).body).toEqual({ status: 'ok', reason: 'single node cluster' });
    expect((await guest.get('/api/health/checks/protocol-listener/amqp')).body).toEqual({ status: 'ok', protocol: 'amqp' });
    expect((await guest.get(`/api/health/checks/port-listener/${broker.port}`)).body).toEqual({ status: 'ok', port: broker.port });
    const missing = await guest.get('/api/health/checks/port-listener/1');
    expect(missing.status).toBe(503);
    expect(missing.body).toMatchObject({ status: 'failed', reason: 'No active listener', missing: 1 });
  });

  it('runs the aliveness test', async () => {
    expect((await guest.get('/api/aliveness-test/%2F')).body).toEqual({ status: 'ok' });
  });
});
