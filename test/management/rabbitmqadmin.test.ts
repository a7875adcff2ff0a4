// Debian's rabbitmqadmin (RabbitMQ's own HTTP API client, from the rabbitmq-server package) driving
// Warren's management API as it drives RabbitMQ's: declare, list with columns, publish, get, purge,
// delete, export and import definitions, close a connection. With AMQP_URL and RABBITMQ_MGMT_URL it
// drives a real RabbitMQ instead, to check the expectations.
import amqp from 'amqplib';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';
import { eventually, api } from '../support/management.js';

const run = promisify(execFile);
// .ci/run unpacks it from the Debian package when rabbitmq-server is not installed
const candidates = [process.env.RABBITMQADMIN, '/usr/bin/rabbitmqadmin', join(import.meta.dirname, '..', '..', '.ci', 'tools', 'usr', 'bin', 'rabbitmqadmin')];
const rabbitmqadmin = candidates.find((p): p is string => p !== undefined && existsSync(p));
if (!rabbitmqadmin) console.warn('rabbitmqadmin tests skipped: no rabbitmqadmin (apt-get install rabbitmq-server, or set RABBITMQADMIN)');

describe.skipIf(!rabbitmqadmin)('rabbitmqadmin against the management API', () => {
  let broker: TestBroker;
  let admin: (...args: string[]) => Promise<string>;
  const q = `admin-q-${process.pid}`;

  beforeAll(async () => {
    broker = await testBroker({ management: true });
    const url = new URL(broker.managementUrl!);
    admin = async (...args) => (await run('/usr/bin/python3', [rabbitmqadmin!, '-H', url.hostname, '-P', url.port, '-u', 'guest', '-p', 'guest', ...args])).stdout;
  });
  afterAll(async () => {
    await admin('delete', 'queue', `name=${q}`).catch(() => {});
    await broker.close();
  });

  it('declares a queue and lists it with the columns asked for', async () => {
    expect(await admin('declare', 'queue', `name=${q}`, 'durable=false', 'arguments={"x-max-length":10}')).toBe('queue declared\n');
    const tsv = await admin('-f', 'tsv', 'list', 'queues', 'name', 'durable', 'arguments');
    expect(tsv.split('\n')[0]).toBe('name\tdurable\targuments');
    // rabbitmqadmin's tsv leaves nested values empty, as it does against RabbitMQ
    expect(tsv).toContain(`${q}\tFalse\t\n`);
    const listed = JSON.parse(await admin('-f', 'raw_json', 'list', 'queues', 'name', 'arguments')) as { name: string; arguments: object }[];
    expect(listed.find((x) => x.name === q)).toEqual({ name: q, arguments: { 'x-max-length': 10 } });
  });

  it('publishes, counts and gets a message back', async () => {
    expect(await admin('publish', 'routing_key=' + q, 'payload=hello from rabbitmqadmin')).toBe('Message published\n');
    await eventually(broker, () => api(broker.managementUrl!, 'guest', 'guest').get(`/api/queues/%2F/${q}`), (r) => (r.body as { messages?: number }).messages === 1);
    const listed = JSON.parse(await admin('-f', 'raw_json', 'list', 'queues', 'name', 'messages')) as { name: string; messages: number }[];
    expect(listed.find((x) => x.name === q)).toEqual({ name: q, messages: 1 });
    const got = JSON.parse(await admin('-f', 'raw_json', 'get', `queue=${q}`, 'ackmode=ack_requeue_true')) as { payload: string; message_count: number }[];
    expect(got).toMatchObject([{ payload: 'hello from rabbitmqadmin', message_count: 0 }]);
  });

  it('purges and deletes the queue', async () => {
    expect(await admin('purge', 'queue', `name=${q}`)).toBe('queue purged\n');
    await eventually(broker, () => api(broker.managementUrl!, 'guest', 'guest').get(`/api/queues/%2F/${q}`), (r) => (r.body as { messages?: number }).messages === 0);
    expect(await admin('delete', 'queue', `name=${q}`)).toBe('queue deleted\n');
    expect(await admin('-f', 'tsv', '-q', 'list', 'queues', 'name')).not.toContain(q);
  });

  it('exports definitions and imports them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-admin-'));
    const file = join(dir, 'defs.json');
    await admin('declare', 'exchange', `name=${q}-x`, 'type=fanout', 'durable=true');
    expect(await admin('export', file)).toMatch(/^Exported definitions for localhost|^Exported definitions for 127\.0\.0\.1/);
    const defs = JSON.parse(readFileSync(file, 'utf8')) as { exchanges: { name: string }[] };
    expect(defs.exchanges.map((e) => e.name)).toContain(`${q}-x`);
    await admin('delete', 'exchange', `name=${q}-x`);
    writeFileSync(file, JSON.stringify({ exchanges: defs.exchanges.filter((e) => e.name === `${q}-x`) }));
    expect(await admin('import', file)).toMatch(/^Uploaded definitions from/);
    expect(await admin('-f', 'tsv', '-q', 'list', 'exchanges', 'name', 'type')).toContain(`${q}-x\tfanout`);
    await admin('delete', 'exchange', `name=${q}-x`);
  });

  it('closes an AMQP connection by name', async () => {
    const conn = await amqp.connect(broker.url, { clientProperties: { connection_name: `admin-${process.pid}` } });
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    type Row = { name: string; user_provided_name: string };
    const rows = await eventually(
      broker,
      async () => ({ status: 200, headers: new Headers(), body: JSON.parse(await admin('-f', 'raw_json', 'list', 'connections', 'name', 'user_provided_name')) }),
      (r) => (r.body as Row[]).some((c) => c.user_provided_name === `admin-${process.pid}`),
    );
    const name = (rows.body as Row[]).find((c) => c.user_provided_name === `admin-${process.pid}`)!.name;
    expect(await admin('close', 'connection', `name=${name}`)).toBe('connection closed\n');
    expect((await closed).message).toMatch(/320 \(CONNECTION-FORCED\) with message "CONNECTION_FORCED - Closed via management plugin"/);
  });
});
