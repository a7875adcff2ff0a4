// The `warren` command: --help, --port 0, start-up time, and a clean stop on SIGTERM.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import amqp from 'amqplib';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  // the default data directory is ./warren-data: each run gets its own working directory
  const cwd = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  port.catch(() => {}); // commands that exit on their own never print a port
  return { child, port, output: () => out };
}

describe('warren CLI', () => {
  it('prints its usage with --help', async () => {
    const { child, output } = startCli(['--help']);
    await once(child, 'exit');
    expect(output()).toMatch(/--port PORT/);
    expect(output()).toMatch(/--log-level LEVEL/);
  });

  it('listens on a random port with --port 0, logs JSON, and stops cleanly on SIGTERM', async () => {
    const { child, port, output } = startCli(['--port', '0', '--management-port', '0', '--log-level', 'info']);
    const p = await port;
    const sock = connect(p, '127.0.0.1');
    sock.on('error', () => {}); // the broker drops unfinished handshakes when it stops
    await once(sock, 'connect');
    sock.write('AMQP\x00\x00\x09\x01');
    const [start] = await once(sock, 'data');
    expect((start as Buffer)[0]).toBe(1);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    sock.destroy();
    expect(output()).toMatch(/"msg":"listening on amqp:\/\/127\.0\.0\.1:\d+"/);
    // logged while the data directory was recovered, before pino was loaded: held, then handed over
    expect(output()).toMatch(/"msg":"recovery done"/);
  });

  it('is built executable, as npx runs the bin file itself', () => {
    expect(statSync(cli).mode & 0o111).toBe(0o111);
  });

  it('accepts connections within a few hundred ms of process start', async () => {
    const t0 = performance.now();
    const { child, port } = startCli(['--port', '0', '--no-management', '--log-level', 'warn']);
    await port;
    const took = performance.now() - t0;
    child.kill('SIGTERM');
    await once(child, 'exit');
    // the target is 100 ms on an idle machine; a loaded CI box gets slack
    expect(took).toBeLessThan(1000);
  });

  it('serves the management API on the port --management-port 0 picked and prints', async () => {
    const { child, output } = startCli(['--port', '0', '--management-port', '0', '--log-level', 'warn']);
    const managementPort = await new Promise<number>((resolve) => {
      child.stdout.on('data', () => {
        const m = /^management port (\d+)$/m.exec(output());
        if (m) resolve(Number(m[1]));
      });
    });
    const res = await fetch(`http://127.0.0.1:${managementPort}/api/whoami`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    expect(await res.json()).toEqual({ name: 'guest', tags: ['administrator'] });
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('refuses a bad management port, naming the option', async () => {
    const { child } = startCli(['--port', '0', '--management-port', '70000']);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toBe('warren: --management-port "70000": a port is a number from 0 to 65535\n');
  });

  it('imports --definitions before listening: the file\'s queue is there for the first client', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'warren-defs-')), 'definitions.json');
    writeFileSync(file, JSON.stringify({ queues: [{ name: 'from-file', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 7 } }] }));
    const { child, port } = startCli(['--port', '0', '--no-management', '--definitions', file, '--log-level', 'warn']);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${await port}/`);
    const ch = await conn.createChannel();
    expect(await ch.checkQueue('from-file')).toMatchObject({ queue: 'from-file', messageCount: 0 });
    await conn.close();
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('stops the start on a --definitions file it cannot take, naming the entity and the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-defs-'));
    const file = join(dir, 'definitions.json');
    const queue = (maxLength: number) => ({ name: 'twice', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': maxLength } });
    writeFileSync(file, JSON.stringify({ queues: [queue(1), queue(2)] }));
    const bad = startCli(['--port', '0', '--no-management', '--definitions', file]);
    let err = '';
    bad.child.stderr.on('data', (d) => (err += d));
    expect((await once(bad.child, 'exit'))[0]).toBe(1);
    expect(err).toBe(`warren: definitions file ${file}: queue 'twice' in vhost '/': precondition_failed: inequivalent arg 'x-max-length' for queue 'twice' in vhost '/': received '2' but current is '1'\n`);
    writeFileSync(file, '{"queues": [');
    const notJson = startCli(['--port', '0', '--no-management', '--definitions', file]);
    let err2 = '';
    notJson.child.stderr.on('data', (d) => (err2 += d));
    expect((await once(notJson.child, 'exit'))[0]).toBe(1);
    expect(err2).toMatch(new RegExp(`^warren: definitions file ${file} is not JSON: `));
  });

  it('stops with a sentence naming the option when the management port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port: busy } = taken.address() as AddressInfo;
    const { child } = startCli(['--port', '0', '--management-port', String(busy)]);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const [code] = await once(child, 'exit');
    taken.close();
    expect(code).toBe(1);
    expect(err).toBe(`warren: the management API cannot listen on 127.0.0.1:${busy}: the port is in use (choose another with --management-port, or --no-management)\n`);
  });

  it('refuses a bad port', async () => {
    const { child } = startCli(['--port', 'x']);
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
  });

  it('prints the AMQP URL as its first line with --print-url, keeps nothing with --in-memory, and logs RabbitMQ’s start-up line', async () => {
    const { child, output } = startCli(['--port', '0', '--print-url', '--in-memory', '--no-management', '--log-level', 'info']);
    await new Promise<void>((resolve) => child.stdout.on('data', () => /Server startup complete/.test(output()) && resolve()));
    const url = output().split('\n')[0];
    expect(url).toMatch(/^amqp:\/\/guest:guest@127\.0\.0\.1:\d+$/);
    const conn = await amqp.connect(url);
    await (await conn.createChannel()).assertQueue('in-memory', { durable: true });
    await conn.close();
    expect(output()).toMatch(/"msg":"Server startup complete; 0 plugins started\."/);
    expect(output()).toMatch(/"msg":"in memory: nothing is kept across runs"/);
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('says what is wrong with an empty --data-dir, or one given with --in-memory', async () => {
    for (const [args, text] of [
      [['--data-dir', ''], 'warren: --data-dir "": a directory is expected (for no data directory at all, use --in-memory)\n'],
      [['--data-dir', 'x', '--in-memory'], 'warren: --in-memory and --data-dir exclude each other: choose one\n'],
    ] as const) {
      const { child } = startCli(['--port', '0', ...args]);
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      expect((await once(child, 'exit'))[0]).toBe(1);
      expect(err).toBe(text);
    }
  });

  it('runs a command against a broker of its own with warren run, and exits with its status', async () => {
    const script = [
      "const amqp = require('amqplib');",
      '(async () => {',
      '  const c = await amqp.connect(process.env.AMQP_URL);',
      "  await (await c.createChannel()).assertQueue('from-run');",
      '  await c.close();',
      "  const res = await fetch(process.env.RABBITMQ_MANAGEMENT_URL.replace(/\\/\\/([^@]*)@/, '//') + '/api/queues/%2F/from-run', { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } });",
      '  console.log(process.env.RABBITMQ_URL === process.env.AMQP_URL, res.status);',
      '  process.exit(7);',
      '})();',
    ].join('\n');
    // the command runs in a temporary directory: it finds amqplib through NODE_PATH
    const { child, output } = startCli(['run', '--', process.execPath, '-e', script], { NODE_PATH: join(import.meta.dirname, '..', '..', 'node_modules') });
    const [code] = await once(child, 'exit');
    expect(output()).toBe('true 200\n');
    expect(code).toBe(7);
  });

  it('tells warren run what is missing', async () => {
    const { child } = startCli(['run']);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    expect((await once(child, 'exit'))[0]).toBe(1);
    expect(err).toBe('warren: warren run needs a command after --, as in: warren run -- npm test\n');
  });

  it('runs compose-style: RABBITMQ_DEFAULT_USER/PASS, a rabbitmq.conf and its load_definitions, then the application connects', async () => {
    const d = mkdtempSync(join(tmpdir(), 'warren-compose-'));
    writeFileSync(join(d, 'definitions.json'), JSON.stringify({ queues: [{ name: 'orders', vhost: '/', durable: true, auto_delete: false, arguments: {} }] }));
    writeFileSync(join(d, 'rabbitmq.conf'), `# as in a compose file's volume\nlisteners.tcp.default = 127.0.0.1:0\nmanagement.tcp.port = 0\nheartbeat = 30\nload_definitions = ${join(d, 'definitions.json')}\n`);
    const { child, output } = startCli(['--print-url', '--in-memory'], { RABBITMQ_DEFAULT_USER: 'app', RABBITMQ_DEFAULT_PASS: 'secret', RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf') });
    await new Promise<void>((resolve) => child.stdout.on('data', () => /Server startup complete/.test(output()) && resolve()));
    const url = output().split('\n')[0];
    expect(url).toMatch(/^amqp:\/\/app:secret@127\.0\.0\.1:\d+$/);
    const conn = await amqp.connect(url);
    expect((await (await conn.createChannel()).checkQueue('orders')).messageCount).toBe(0);
    expect((conn as unknown as { connection: { heartbeat: number } }).connection.heartbeat).toBe(30);
    await conn.close();
    await expect(amqp.connect(url.replace('app:secret', 'guest:guest'))).rejects.toThrow(/ACCESS_REFUSED/);
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  const external = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4')?.address;
  if (!external) console.warn('loopback_users test skipped: this machine has no non-loopback IPv4 address');
  it.skipIf(!external)('lets guest in only from loopback (loopback_users), as RabbitMQ refuses it', async () => {
    const { child, port } = startCli(['--host', '0.0.0.0', '--port', '0', '--no-management', '--in-memory', '--log-level', 'warn']);
    const p = await port;
    await expect(amqp.connect(`amqp://guest:guest@${external}:${p}`)).rejects.toThrow('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.');
    await (await amqp.connect(`amqp://guest:guest@127.0.0.1:${p}`)).close();
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('says in words that the AMQP port is taken, or that the data directory is a file', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port: busy } = taken.address() as AddressInfo;
    const inUse = startCli(['--port', String(busy), '--no-management', '--in-memory']);
    let err = '';
    inUse.child.stderr.on('data', (d) => (err += d));
    expect((await once(inUse.child, 'exit'))[0]).toBe(1);
    taken.close();
    expect(err).toBe(`warren: cannot listen on 127.0.0.1:${busy}: the port is in use (choose another with --port)\n`);
    const file = join(mkdtempSync(join(tmpdir(), 'warren-file-')), 'not-a-dir');
    writeFileSync(file, '');
    const isFile = startCli(['--port', '0', '--no-management', '--data-dir', file]);
    let err2 = '';
    isFile.child.stderr.on('data', (d) => (err2 += d));
    expect((await once(isFile.child, 'exit'))[0]).toBe(1);
    expect(err2).toBe(`warren: the data directory ${file} cannot be used: it is a file, not a directory (choose another with --data-dir, or --in-memory)\n`);
  });

  it('says when the definitions file is missing, before it opens the data directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'warren-nodefs-'));
    const child = spawn(process.execPath, [cli, '--port', '0', '--no-management', '--definitions', 'absent.json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    expect((await once(child, 'exit'))[0]).toBe(1);
    expect(err).toBe('warren: definitions file absent.json cannot be read: no such file\n');
    // nothing was created: the file was read before the data directory
    expect(existsSync(join(cwd, 'warren-data'))).toBe(false);
  });

  it('prints its settings and where they came from with --print-config, starting nothing', async () => {
    const { child, output } = startCli(['--print-config', '--port', '5999'], { RABBITMQ_DEFAULT_USER: 'app' });
    expect((await once(child, 'exit'))[0]).toBe(0);
    expect(output()).toMatch(/^port +5999 +flag --port$/m);
    expect(output()).toMatch(/^defaultUser +app +env RABBITMQ_DEFAULT_USER$/m);
  });

  it('serves Prometheus metrics with --prometheus-port 0, printing the port', async () => {
    const { child, output } = startCli(['--port', '0', '--no-management', '--in-memory', '--prometheus-port', '0', '--log-level', 'info']);
    const port = await new Promise<number>((resolve) => child.stdout.on('data', () => {
      const m = /^prometheus port (\d+)$/m.exec(output());
      if (m && /Server startup complete; 1 plugins started\./.test(output())) resolve(Number(m[1]));
    }));
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^# TYPE rabbitmq_connections gauge$/m);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    child.kill('SIGTERM');
    expect((await once(child, 'exit'))[0]).toBe(0);
  });

  it('logs each connection as an operator needs: accepted, opened (user, vhost, client name), channel errors, and closed with the reason, in ISO time', async () => {
    const defs = join(mkdtempSync(join(tmpdir(), 'warren-logdefs-')), 'definitions.json');
    writeFileSync(defs, JSON.stringify({ policies: [{ vhost: '/', name: 'ttl', pattern: '^t\\.', 'apply-to': 'queues', definition: { 'message-ttl': 1000 }, priority: 0 }] }));
    const { child, port, output } = startCli(['--port', '0', '--in-memory', '--no-management', '--log-level', 'info', '--log-format', 'json', '--definitions', defs]);
    const p = await port;
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${p}`, { clientProperties: { connection_name: 'billing' } });
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    await ch.checkQueue('nope').catch(() => {});
    await conn.close();
    const dropped = connect(p, '127.0.0.1');
    await once(dropped, 'connect');
    dropped.destroy();
    await expect(amqp.connect(`amqp://guest:wrong@127.0.0.1:${p}`)).rejects.toThrow(/ACCESS_REFUSED/);
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    await once(child, 'exit');
    const lines = output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const find = (msg: string, extra: Record<string, unknown> = {}) => lines.find((l) => l.msg === msg && Object.entries(extra).every(([k, v]) => l[k] === v));
    expect(find('connection opened')).toMatchObject({ level: 30, user: 'guest', vhost: '/', clientName: 'billing', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(find('channel error')).toMatchObject({ level: 50, channel: 1, code: 404, method: 'queue.declare', clientName: 'billing', text: "NOT_FOUND - no queue 'nope' in vhost '/'" });
    expect(find('connection closed', { clientName: 'billing' })).toMatchObject({ level: 30, reason: 'client closed the connection' });
    expect(find('client unexpectedly closed TCP connection')).toMatchObject({ level: 40 });
    expect(find('login refused')).toMatchObject({ level: 50, user: 'guest', reason: 'invalid credentials' });
    expect(lines.filter((l) => l.msg === 'accepting AMQP connection')).toHaveLength(3);
    expect(find('policy set')).toMatchObject({ level: 30, vhost: '/', policy: 'ttl', pattern: '^t\\.', applyTo: 'queues' });
    expect(find('definitions imported')).toMatchObject({ level: 30, file: defs });
    expect(String(find('connection opened')!.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes readable lines with --log-format pretty, and to log.file when the config says so', async () => {
    const pretty = startCli(['--port', '0', '--in-memory', '--no-management', '--log-format', 'pretty']);
    await new Promise<void>((resolve) => pretty.child.stdout.on('data', () => /Server startup complete/.test(pretty.output()) && resolve()));
    pretty.child.kill('SIGTERM');
    await once(pretty.child, 'exit');
    expect(pretty.output()).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: listening on amqp:\/\/127\.0\.0\.1:\d+ /m);
    const d = mkdtempSync(join(tmpdir(), 'warren-logfile-'));
    writeFileSync(join(d, 'rabbitmq.conf'), `log.file = ${join(d, 'logs', 'warren.log')}\nlog.console.level = warning\n`);
    const toFile = startCli(['--port', '0', '--in-memory', '--no-management', '--config', join(d, 'rabbitmq.conf')]);
    const p = await toFile.port;
    const dropped = connect(p, '127.0.0.1');
    await once(dropped, 'connect');
    dropped.destroy();
    await new Promise((r) => setTimeout(r, 200));
    toFile.child.kill('SIGTERM');
    await once(toFile.child, 'exit');
    const logged = readFileSync(join(d, 'logs', 'warren.log'), 'utf8');
    // warning and above only: the dropped socket, not the start-up lines
    expect(logged).toMatch(/"msg":"client unexpectedly closed TCP connection"/);
    expect(logged).not.toMatch(/Server startup complete/);
  });
});
