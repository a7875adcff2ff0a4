// `warren ctl` against Warren's management API (an embedded broker), or with AMQP_URL set against a real
// RabbitMQ's (RABBITMQ_MGMT_URL, default rabbitmq-local's), compared there with the real rabbitmqctl's output.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctl } from '../../src/cli/ctl.js';
import { startBroker } from '../../src/index.js';

const embedded = process.env.AMQP_URL ? undefined : await startBroker({ management: true });
const MGMT = embedded ? embedded.managementUrl!.replace(/\/\/[^@]*@/, '//') : (process.env.RABBITMQ_MGMT_URL ?? 'http://127.0.0.1:15682').replace(/\/+$/, '');
afterAll(() => embedded?.close());
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(MGMT + path, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

interface Overview {
  node: string;
  listeners: { protocol: string; port: number }[];
}
const overview: Overview | undefined = await api('GET', '/api/overview').then(
  async (res) => (res.ok ? ((await res.json()) as Overview) : undefined),
  () => undefined,
);
if (!overview) console.warn(`ctl tests skipped: no RabbitMQ management API at ${MGMT} (set RABBITMQ_MGMT_URL)`);

/** Whether the real rabbitmqctl can reach the node behind MGMT (it needs the node's Erlang cookie). */
const rabbitmqctlReaches =
  !embedded && overview !== undefined && spawnSync('rabbitmqctl', ['-n', overview.node, '-q', 'ping'], { timeout: 15_000 }).status === 0;
if (overview && !embedded && !rabbitmqctlReaches) console.warn(`ctl comparisons with rabbitmqctl skipped: rabbitmqctl cannot reach ${overview.node}`);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function warren(...argv: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await ctl(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: { WARREN_MGMT_URL: MGMT } });
  return { code, stdout, stderr };
}

function real(tool: 'rabbitmqctl' | 'rabbitmq-diagnostics', ...argv: string[]): Result {
  const r = spawnSync(tool, ['-n', overview!.node, ...argv], { encoding: 'utf8', timeout: 30_000 });
  // the Elixir CLI sometimes logs a timestamped warning besides its error: not part of what it answers
  const stderr = r.stderr.replace(/^\n?\d\d:\d\d:\d\d\.\d+ \[\w+\] .*\n/gm, '');
  return { code: r.status ?? -1, stdout: r.stdout, stderr };
}

/** Polls until `probe` gives a value that is not undefined, for state the broker updates asynchronously. */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, attempts = 100): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const unique = (what: string) => `ctl-test-${what}-${randomBytes(4).toString('hex')}`;
const vq = (vhost: string, name: string) => `${encodeURIComponent(vhost)}/${encodeURIComponent(name)}`;

describe.skipIf(!overview)('warren ctl', () => {
  const vhost = unique('vhost');
  const amqpPort = overview?.listeners.find((l) => l.protocol === 'amqp')?.port;
  const amqpUrl = `amqp://guest:guest@${new URL(MGMT).hostname}:${amqpPort}/${encodeURIComponent(vhost)}`;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await api('PUT', `/api/vhosts/${encodeURIComponent(vhost)}`, {});
    await api('PUT', `/api/permissions/${vq(vhost, 'guest')}`, { configure: '.*', write: '.*', read: '.*' });
    const queueArgs = { 'x-message-ttl': 60000, 'x-dead-letter-exchange': 'dlx', 'x-max-priority': 5 };
    await api('PUT', `/api/queues/${vq(vhost, 'q1')}`, { durable: true, arguments: queueArgs });
    await api('PUT', `/api/queues/${vq(vhost, 'q2')}`, { durable: false, auto_delete: true, arguments: {} });
    await api('PUT', `/api/exchanges/${vq(vhost, 'ex1')}`, { type: 'topic', durable: true, arguments: { 'alternate-exchange': 'ae' } });
    const bindingArgs = { 'x-match': 'any', n: 1, b: true, f: 1.5, l: ['a', 2], t: { k: 'v' }, s: 'say "hi"\t' };
    await api('POST', `/api/bindings/${encodeURIComponent(vhost)}/e/ex1/q/q1`, { routing_key: 'a.*', arguments: bindingArgs });
    // until the queues' first statistics arrive the API has no message counts, which rabbitmqctl always has
    await eventually(async () => {
      const queues = (await (await api('GET', `/api/queues/${encodeURIComponent(vhost)}`)).json()) as { messages?: number }[];
      return queues.length === 2 && queues.every((q) => q.messages !== undefined) ? true : undefined;
    }, 'the first queue statistics');
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await api('DELETE', `/api/vhosts/${encodeURIComponent(vhost)}`);
  });

  describe('listing', () => {
    it('lists queues with a banner, a header and tab-separated rows in Erlang term notation', async () => {
      const r = await warren('list_queues', '-p', vhost, 'name', 'durable', 'auto_delete', 'arguments');
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines.slice(0, 3)).toEqual(['Timeout: 60.0 seconds ...', `Listing queues for vhost ${vhost} ...`, 'name\tdurable\tauto_delete\targuments']);
      expect(lines).toContain('q1\ttrue\tfalse\t[{"x-dead-letter-exchange","dlx"},{"x-max-priority",5},{"x-message-ttl",60000}]');
      expect(lines).toContain('q2\tfalse\ttrue\t[]');
    });

    it('drops the banner with -q, and the header too with -s or --no-table-headers', async () => {
      expect((await warren('-q', 'list_queues', '-p', vhost, 'name')).stdout.split('\n')[0]).toBe('name');
      for (const flags of [['-s'], ['-q', '--no-table-headers']]) {
        const lines = (await warren(...flags, 'list_queues', '-p', vhost, 'name')).stdout.split('\n').filter(Boolean);
        expect(lines.sort(), flags.join(' ')).toEqual(['q1', 'q2']);
      }
    });

    it('prints binding arguments with nested tables, lists and escaped strings', async () => {
      const r = await warren('-q', 'list_bindings', '-p', vhost, 'source_name', 'routing_key', 'arguments');
      expect(r.stdout).toContain('ex1\ta.*\t[{"b",true},{"f",1.5},{"l",["a",2]},{"n",1},{"s","say \\"hi\\"\\t"},{"t",[{"k","v"}]},{"x-match","any"}]\n');
    });

    it('prints JSON rows with typed AMQP tables for --formatter json', async () => {
      const r = await warren('list_queues', '-p', vhost, 'name', 'arguments', '--formatter', 'json');
      expect(r.stdout.startsWith('[\n{')).toBe(true);
      const rows = JSON.parse(r.stdout) as { name: string; arguments: unknown }[];
      expect(rows.find((row) => row.name === 'q1')?.arguments).toEqual([
        ['x-dead-letter-exchange', 'longstr', 'dlx'],
        ['x-max-priority', 'long', 5],
        ['x-message-ttl', 'long', 60000],
      ]);
    });

    it('lists nothing, successfully, for a vhost that does not exist', async () => {
      const r = await warren('list_exchanges', '-p', unique('absent'));
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^Listing exchanges for vhost ctl-test-absent-\w+ \.\.\.\n$/);
    });

    it('rejects an unknown column with exit code 64, before any request', async () => {
      const r = await warren('--url', 'http://127.0.0.1:59999', 'list_queues', 'name', 'bogus');
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^Error \(argument validation\): Info key\(s\) bogus are not supported\n/);
    });

    describe.skipIf(!rabbitmqctlReaches)('compared with rabbitmqctl', () => {
      const cases: string[][] = [
        ['list_queues'],
        ['-q', 'list_queues', 'name', 'messages', 'consumers', 'durable', 'auto_delete', 'exclusive', 'arguments', 'policy', 'type', 'state'],
        ['-s', 'list_queues', 'name,arguments'],
        ['list_queues', 'name', 'arguments', 'durable', '--formatter', 'json'],
        ['list_exchanges'],
        ['-q', 'list_exchanges', 'name', 'type', 'durable', 'auto_delete', 'internal', 'arguments', 'policy'],
        ['list_bindings'],
        ['--no-table-headers', 'list_bindings', 'routing_key', 'arguments'],
        ['list_permissions'],
      ];
      it.each(cases.map((argv) => [argv.join(' '), argv] as const))('prints what rabbitmqctl prints for `%s`', async (_, argv) => {
        const args = [...argv, '-p', vhost];
        const expected = real('rabbitmqctl', ...args);
        expect(await warren(...args)).toEqual(expected);
      });
    });
  });

  describe('connections and consumers', () => {
    async function openConsumer(connectionName: string) {
      const connection = await amqp.connect(amqpUrl, { clientProperties: { connection_name: connectionName } });
      cleanups.push(() => connection.close());
      const channel = await connection.createChannel();
      await channel.prefetch(7);
      await channel.consume('q1', () => undefined, { consumerTag: unique('tag'), arguments: { 'x-priority': 3 } });
      const name = await eventually(async () => {
        const all = (await (await api('GET', `/api/vhosts/${encodeURIComponent(vhost)}/connections`)).json()) as { name: string; user_provided_name?: string }[];
        return all.find((c) => c.user_provided_name === connectionName)?.name;
      }, 'the connection to show in the API');
      return { connection, name };
    }

    it('lists a consumer with its queue, channel name, tag, prefetch and arguments', async () => {
      const { name } = await openConsumer(unique('conn'));
      const line = await eventually(async () => {
        const r = await warren('-q', 'list_consumers', '-p', vhost);
        return r.stdout.split('\n').find((l) => l.startsWith('q1\t'));
      }, 'the consumer to be listed');
      expect(line).toMatch(new RegExp(`^q1\\t${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(1\\)\\tctl-test-tag-\\w+\\ttrue\\t7\\ttrue\\t\\[\\{"x-priority",3\\}\\]$`));
    });

    it.skipIf(!rabbitmqctlReaches)('lists connections as rabbitmqctl does', async () => {
      await openConsumer(unique('conn'));
      const args = ['-q', 'list_connections', 'name', 'user', 'vhost', 'peer_host', 'peer_port', 'state', 'protocol', 'ssl', 'frame_max'];
      const mine = (r: Result) => r.stdout.split('\n').filter((l) => l === 'name\tuser\tvhost\tpeer_host\tpeer_port\tstate\tprotocol\tssl\tframe_max' || l.includes(`\t${vhost}\t`));
      const expected = real('rabbitmqctl', ...args);
      expect(mine(await warren(...args)).sort()).toEqual(mine(expected).sort());
      expect(mine(expected).length).toBeGreaterThan(1);
    });

    it('closes a named connection, passing the explanation to the client', async () => {
      const { connection, name } = await openConsumer(unique('conn'));
      const closed = new Promise<Error>((resolve) => connection.once('close', resolve));
      const r = await warren('close_connection', name, 'ctl test says bye');
      expect(r).toEqual({ code: 0, stdout: `Closing connection ${name}, reason: ctl test says bye...\n`, stderr: '' });
      expect(String(await closed)).toContain('CONNECTION_FORCED - ctl test says bye');
    });

    it('closes all connections of a vhost and counts them', async () => {
      const opened = [await openConsumer(unique('conn')), await openConsumer(unique('conn'))];
      const closed = opened.map(({ connection }) => new Promise((resolve) => connection.once('close', resolve)));
      const r = await warren('close_all_connections', '-p', vhost, 'maintenance');
      expect(r.stdout).toMatch(new RegExp(`^Closing all connections in vhost ${vhost}, reason: maintenance\\.\\.\\.\\nClosed [2-9]\\d* connections\\n$`));
      await Promise.all(closed);
    });
  });

  describe('users, permissions and vhosts', () => {
    it('adds a user, changes its password and tags, and deletes it', async () => {
      const user = unique('user');
      cleanups.push(() => api('DELETE', `/api/users/${user}`));
      expect(await warren('add_user', user, 'pw1')).toEqual({
        code: 0,
        stdout: `Adding user "${user}" ...\nDone. Don't forget to grant the user permissions to some virtual hosts! See 'rabbitmqctl help set_permissions' to learn more.\n`,
        stderr: '',
      });
      expect(await warren('change_password', user, 'pw2')).toEqual({ code: 0, stdout: `Changing password for user "${user}" ...\n`, stderr: '' });
      expect(await warren('set_user_tags', user, 'monitoring', 'policymaker')).toMatchObject({
        code: 0,
        stdout: `Setting tags for user "${user}" to [monitoring, policymaker] ...\n`,
      });
      const asUser = await fetch(`${MGMT}/api/whoami`, { headers: { authorization: `Basic ${Buffer.from(`${user}:pw2`).toString('base64')}` } });
      expect(asUser.status).toBe(200);
      expect(((await asUser.json()) as { tags: string[] }).tags).toEqual(['monitoring', 'policymaker']);
      expect(await warren('-q', 'delete_user', user)).toEqual({ code: 0, stdout: '', stderr: '' });
      expect((await api('GET', `/api/users/${user}`)).status).toBe(404);
    });

    it('refuses to add a user that exists, with exit code 70', async () => {
      expect(await warren('-q', 'add_user', 'guest', 'x')).toEqual({ code: 70, stdout: '', stderr: 'Error:\nUser "guest" already exists\n' });
    });

    it('sets permissions, and names the missing user or vhost when it cannot', async () => {
      const user = unique('user');
      cleanups.push(() => api('DELETE', `/api/users/${user}`));
      await warren('-q', 'add_user', user, 'pw');
      expect((await warren('set_permissions', '-p', vhost, user, '^c', '', '.*')).code).toBe(0);
      const permissions = (await (await api('GET', `/api/permissions/${vq(vhost, user)}`)).json()) as Record<string, string>;
      expect(permissions).toMatchObject({ configure: '^c', write: '', read: '.*' });
      expect(await warren('-q', 'set_permissions', '-p', vhost, unique('nobody'), '.*', '.*', '.*')).toMatchObject({ code: 67, stderr: expect.stringMatching(/^Error:\nUser ctl-test-nobody-\w+ does not exist\n$/) });
      const absent = unique('absent');
      expect(await warren('-q', 'set_permissions', '-p', absent, user, '.*', '.*', '.*')).toMatchObject({ code: 69, stderr: `Error:\nVirtual host ${absent} does not exist\n` });
    });

    it('adds and deletes a vhost', async () => {
      const name = unique('vh');
      cleanups.push(() => api('DELETE', `/api/vhosts/${name}`));
      expect(await warren('add_vhost', name)).toEqual({ code: 0, stdout: `Adding vhost "${name}" ...\n`, stderr: '' });
      expect((await api('GET', `/api/vhosts/${name}`)).status).toBe(200);
      expect(await warren('delete_vhost', name)).toEqual({ code: 0, stdout: `Deleting vhost "${name}" ...\n`, stderr: '' });
      expect((await api('GET', `/api/vhosts/${name}`)).status).toBe(404);
    });

    it('adds a vhost with a description, tags and a default queue type, as rabbitmqctl add_vhost takes them', async () => {
      const name = unique('vhdq');
      cleanups.push(() => api('DELETE', `/api/vhosts/${name}`));
      const added = await warren('add_vhost', name, '--description', 'for quorum', '--tags', 'a,b', '--default-queue-type', 'quorum');
      expect(added).toEqual({ code: 0, stdout: `Adding vhost "${name}" ...\n`, stderr: '' });
      expect((await (await api('GET', `/api/vhosts/${name}`)).json()) as object).toMatchObject({ description: 'for quorum', tags: ['a', 'b'], default_queue_type: 'quorum' });
    });

    it('sets, lists and clears vhost limits, printing what rabbitmqctl prints', async () => {
      const name = unique('vhlim');
      cleanups.push(() => api('DELETE', `/api/vhosts/${name}`));
      await api('PUT', `/api/vhosts/${name}`, {});
      expect(await warren('set_vhost_limits', '-p', name, '{"max-connections": 5}')).toEqual({ code: 0, stdout: `Setting vhost limits to "{"max-connections": 5}" for vhost "${name}" ...\n`, stderr: '' });
      // a new definition replaces the old one
      expect((await warren('set_vhost_limits', '-p', name, '{"max-queues": 3}')).code).toBe(0);
      expect(await warren('list_vhost_limits', '-p', name)).toEqual({ code: 0, stdout: `Listing limits for vhost "${name}" ...\n{"max-queues":3}\n`, stderr: '' });
      expect((await warren('list_vhost_limits', '--global')).stdout).toContain(`\n${name}\t{"max-queues":3}\n`);
      expect(await warren('clear_vhost_limits', '-p', name)).toEqual({ code: 0, stdout: `Clearing vhost "${name}" limits ...\n`, stderr: '' });
      expect(await warren('list_vhost_limits', '-p', name)).toEqual({ code: 0, stdout: `Listing limits for vhost "${name}" ...\n\n`, stderr: '' });
    });

    it('turns tracing on and off, keeping the vhost’s description and tags, and prints what rabbitmqctl prints', async () => {
      const name = unique('traced');
      cleanups.push(() => api('DELETE', `/api/vhosts/${name}`));
      await api('PUT', `/api/vhosts/${name}`, { description: 'kept', tags: 'a,b' });
      expect(await warren('trace_on', '-p', name)).toEqual({ code: 0, stdout: `Starting tracing for vhost "${name}" ...\nTrace enabled for vhost ${name}\n`, stderr: '' });
      expect((await (await api('GET', `/api/vhosts/${name}`)).json()) as object).toMatchObject({ tracing: true, description: 'kept', tags: ['a', 'b'] });
      expect(await warren('-q', 'trace_off', '-p', name)).toEqual({ code: 0, stdout: `Trace disabled for vhost ${name}\n`, stderr: '' });
      expect(((await (await api('GET', `/api/vhosts/${name}`)).json()) as { tracing: boolean }).tracing).toBe(false);
      // a vhost that does not exist: nothing to do, and no error, as with rabbitmqctl
      const absent = unique('absent');
      expect(await warren('-q', 'trace_on', '-p', absent)).toEqual({ code: 0, stdout: `Trace enabled for vhost ${absent}\n`, stderr: '' });
      expect((await api('GET', `/api/vhosts/${absent}`)).status).toBe(404);
    });

    describe.skipIf(!rabbitmqctlReaches)('failing as rabbitmqctl fails', () => {
      const cases: string[][] = [
        ['delete_user', 'ctl-test-nobody'],
        ['change_password', 'ctl-test-nobody', 'x'],
        ['set_user_tags', 'ctl-test-nobody', 'administrator'],
        ['delete_vhost', 'ctl-test-nowhere'],
        ['delete_queue', '-p', 'ctl-test-nowhere', 'nothing'],
        ['purge_queue', 'ctl-test-nothing'],
        ['clear_policy', 'ctl-test-nothing'],
        ['set_policy', 'ctl-test-nothing', '^x', 'not json'],
        ['set_policy', 'ctl-test-nothing', '^x', '{"bogus":1}'],
      ];
      it.each(cases.map((argv) => [argv.join(' '), argv] as const))('exits and explains as rabbitmqctl does for `%s`', async (_, argv) => {
        expect(await warren(...argv)).toEqual(real('rabbitmqctl', ...argv));
      });

      it.each([['add_user', []], ['add_user a b c', ['a', 'b', 'c']]] as const)('rejects the argument count with exit code 64 as rabbitmqctl does for `%s`', async (_, extra) => {
        const argv = ['add_user', ...extra];
        const expected = real('rabbitmqctl', ...argv);
        const actual = await warren(...argv);
        // the usage text that follows names rabbitmqctl's own options
        expect({ code: actual.code, first: actual.stderr.split('\n')[0] }).toEqual({ code: expected.code, first: expected.stderr.split('\n')[0] });
      });
    });
  });

  describe('policies and queues', () => {
    it('sets a policy with priority and apply-to, and clears it', async () => {
      const name = unique('policy');
      const r = await warren('set_policy', '-p', vhost, '--priority', '3', '--apply-to', 'queues', name, '^q', '{"max-length":10}');
      expect(r).toEqual({
        code: 0,
        stdout: `Setting policy "${name}" for pattern "^q" to "{"max-length":10}" with priority "3" for vhost "${vhost}" ...\n`,
        stderr: '',
      });
      const policy = (await (await api('GET', `/api/policies/${vq(vhost, name)}`)).json()) as Record<string, unknown>;
      expect(policy).toMatchObject({ pattern: '^q', definition: { 'max-length': 10 }, priority: 3, 'apply-to': 'queues' });
      expect(await warren('-q', 'list_policies', '-p', vhost)).toMatchObject({
        stdout: `vhost\tname\tpattern\tapply-to\tdefinition\tpriority\n${vhost}\t${name}\t^q\tqueues\t{"max-length":10}\t3\n`,
      });
      expect(await warren('clear_policy', '-p', vhost, name)).toEqual({ code: 0, stdout: `Clearing policy "${name}" on vhost "${vhost}" ...\n`, stderr: '' });
      expect((await api('GET', `/api/policies/${vq(vhost, name)}`)).status).toBe(404);
    });

    async function queueWithMessages(count: number): Promise<string> {
      const queue = unique('queue');
      await api('PUT', `/api/queues/${vq(vhost, queue)}`, { durable: false });
      for (let i = 0; i < count; i++) {
        await api('POST', `/api/exchanges/${vq(vhost, 'amq.default')}/publish`, { properties: {}, routing_key: queue, payload: 'x', payload_encoding: 'string' });
      }
      // the API's message counts are statistics, refreshed every few seconds
      await eventually(async () => {
        const q = (await (await api('GET', `/api/queues/${vq(vhost, queue)}`)).json()) as { messages_ready?: number };
        return q.messages_ready === count ? true : undefined;
      }, `${count} messages in ${queue}`);
      return queue;
    }

    it('purges a queue', async () => {
      const queue = await queueWithMessages(2);
      expect(await warren('purge_queue', '-p', vhost, queue)).toEqual({ code: 0, stdout: `Purging queue '${queue}' in vhost '${vhost}' ...\n`, stderr: '' });
      const got = await api('POST', `/api/queues/${vq(vhost, queue)}/get`, { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' });
      expect(await got.json()).toEqual([]);
    });

    it('deletes a queue and reports its ready messages, even with -q', async () => {
      const queue = await queueWithMessages(2);
      expect(await warren('-q', 'delete_queue', '-p', vhost, queue)).toEqual({ code: 0, stdout: 'Queue was successfully deleted with 2 ready messages\n', stderr: '' });
      expect((await api('GET', `/api/queues/${vq(vhost, queue)}`)).status).toBe(404);
    });
  });

  describe('definitions', () => {
    it('exports definitions to a file and to stdout', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'ctl-test-')), 'defs.json');
      expect(await warren('export_definitions', file)).toEqual({ code: 0, stdout: `Exporting definitions in JSON to a file at "${file}" ...\n`, stderr: '' });
      const defs = JSON.parse(readFileSync(file, 'utf8')) as { vhosts: { name: string }[] };
      expect(defs.vhosts.map((v) => v.name)).toContain(vhost);
      const toStdout = await warren('export_definitions', '-');
      expect((JSON.parse(toStdout.stdout) as { vhosts: { name: string }[] }).vhosts.map((v) => v.name)).toContain(vhost);
    });

    it('imports definitions from a file and from standard input', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ctl-test-'));
      const definitions = (queue: string) => JSON.stringify({ queues: [{ name: queue, vhost, durable: true, auto_delete: false, arguments: {} }] });
      const fromFile = unique('imported');
      writeFileSync(join(dir, 'defs.json'), definitions(fromFile));
      expect(await warren('import_definitions', join(dir, 'defs.json'))).toEqual({
        code: 0,
        stdout: `Importing definitions in JSON from a file at "${join(dir, 'defs.json')}" ...\nSuccessfully started definition import. This process is asynchronous and can take some time.\n`,
        stderr: '',
      });
      const fromStdin = unique('imported');
      let stdout = '';
      const code = await ctl(['-q', 'import_definitions', '-'], { stdout: (s) => (stdout += s), stderr: () => undefined, env: { WARREN_MGMT_URL: MGMT }, stdin: async () => definitions(fromStdin) });
      expect({ code, stdout }).toEqual({ code: 0, stdout: '' });
      for (const queue of [fromFile, fromStdin]) {
        await eventually(async () => ((await api('GET', `/api/queues/${vq(vhost, queue)}`)).ok ? true : undefined), `${queue} to be imported`);
      }
    });
  });

  describe('node health', () => {
    it('awaits startup of a running node silently', async () => {
      expect(await warren('await_startup')).toEqual({ code: 0, stdout: '', stderr: '' });
    });

    it('prints status sections for the node', async () => {
      const r = await warren('status');
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith(`Status of node ${overview!.node} ...\n\x1b[1mRuntime\x1b[0m\n`)).toBe(true);
      expect(r.stdout).toContain(`Node name: ${overview!.node}\n`);
      expect(r.stdout).toMatch(/Interface: \S+, port: \d+, protocol: amqp, purpose: AMQP 0-9-1 and AMQP 1\.0/);
    });

    describe.skipIf(!rabbitmqctlReaches)('compared with rabbitmq-diagnostics', () => {
      it.each(['ping', '-q ping', 'check_running', '-q check_running', 'check_port_connectivity'])('prints what it prints for `%s`', async (line) => {
        const argv = line.split(' ');
        expect(await warren(...argv)).toEqual(real('rabbitmq-diagnostics', ...argv));
      });
    });
  });

  describe('failures to reach the API', () => {
    const nowhere = 'http://127.0.0.1:59999';

    it('exits with 69 and names the URL, printing no banner, when the API is unreachable', async () => {
      const r = await warren('--url', nowhere, 'list_queues');
      expect(r.code).toBe(69);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^Error: unable to reach the management API at ${nowhere}: `));
    });

    it('gives up awaiting startup after the timeout', async () => {
      const r = await warren('--url', nowhere, 'await_startup', '-t', '1');
      expect(r).toEqual({ code: 69, stdout: '', stderr: `Error:\nthe management API at ${nowhere} did not come up within 1 seconds\n` });
    });

    it('exits with 77 when the API refuses the credentials, whether given as options or in the URL', async () => {
      expect((await warren('--password', 'wrong', 'list_users')).code).toBe(77);
      const url = new URL(MGMT);
      url.username = 'guest';
      url.password = 'wrong';
      expect(await warren('--url', url.href, 'list_users')).toMatchObject({ code: 77, stdout: '', stderr: expect.stringContaining('refused the credentials') });
    });
  });
});
