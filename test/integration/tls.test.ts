// amqps: the TLS listener with certificates made here by Debian's openssl, client certificates
// (verify_peer, fail_if_no_peer_cert), the EXTERNAL mechanism, and two clients: amqplib and pika.
import amqp from 'amqplib';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerOptions, type RunningBroker } from '../../src/index.js';
import { hasOpenssl, makeCertificates, type Certificates } from '../support/certificates.js';

const run = promisify(execFile);
if (!hasOpenssl) console.warn('TLS tests skipped: openssl is not installed (Debian: openssl)');
let certs: Certificates;
const file = (name: string) => certs.file(name);
const pem = (name: string) => certs.pem(name);

beforeAll(() => {
  if (hasOpenssl) certs = makeCertificates();
});

let started: RunningBroker[] = [];
afterEach(async () => {
  for (const b of started) await b.close();
  started = [];
});

async function broker(tls: Partial<NonNullable<BrokerOptions['tls']>> = {}, options: BrokerOptions = {}): Promise<RunningBroker> {
  const b = await startBroker({ ...options, tls: { cert: pem('server.pem'), key: pem('server.key'), ...tls } });
  started.push(b);
  return b;
}

const clientTls = (name?: string) => ({ ca: [pem('ca.pem')], ...(name ? { cert: pem(`${name}.pem`), key: pem(`${name}.key`) } : {}) });

async function roundTrip(url: string, socketOptions: object, options: object = {}): Promise<string> {
  const conn = await amqp.connect(url, { ...socketOptions, ...options });
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('over tls'));
  let m: amqp.GetMessage | false = false;
  while (!m) m = await ch.get(queue, { noAck: true });
  await conn.close();
  return m.content.toString();
}

describe.skipIf(!hasOpenssl)('amqps', () => {
  it('serves amqplib over TLS, a certificate checked against the CA', async () => {
    const b = await broker();
    expect(b.tlsUrl).toMatch(/^amqps:\/\/guest:guest@127\.0\.0\.1:\d+$/);
    expect(await roundTrip(b.tlsUrl!, clientTls())).toBe('over tls');
  });

  it('serves pika over TLS', async () => {
    const b = await broker();
    const port = new URL(b.tlsUrl!).port;
    const script = [
      'import pika, ssl',
      `ctx = ssl.create_default_context(cafile=${JSON.stringify(file('ca.pem'))})`,
      `params = pika.ConnectionParameters('127.0.0.1', ${port}, ssl_options=pika.SSLOptions(ctx, 'localhost'))`,
      'c = pika.BlockingConnection(params); ch = c.channel(); q = ch.queue_declare("", exclusive=True).method.queue',
      'ch.basic_publish("", q, b"from pika"); print(ch.basic_get(q, auto_ack=True)[2].decode()); c.close()',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script]);
    expect(stdout).toBe('from pika\n');
  });

  it('with verify_peer and fail_if_no_peer_cert, refuses a client without a certificate or with one the CA did not sign', async () => {
    const b = await broker({ ca: pem('ca.pem'), verify: true, failIfNoPeerCert: true });
    expect(await roundTrip(b.tlsUrl!, clientTls('client'))).toBe('over tls');
    await expect(amqp.connect(b.tlsUrl!, clientTls())).rejects.toThrow();
    await expect(amqp.connect(b.tlsUrl!, clientTls('rogue'))).rejects.toThrow();
  });

  it('with verify_peer alone, lets a client without a certificate in but not one with a bad certificate', async () => {
    const b = await broker({ ca: pem('ca.pem'), verify: true, failIfNoPeerCert: false });
    expect(await roundTrip(b.tlsUrl!, clientTls())).toBe('over tls');
    await expect(amqp.connect(b.tlsUrl!, clientTls('rogue'))).rejects.toThrow();
  });

  it('logs in with EXTERNAL as the certificate subject’s distinguished name, most specific part first', async () => {
    const b = await broker({ ca: pem('ca.pem'), verify: true }, { config: { authMechanisms: ['EXTERNAL', 'PLAIN'] } });
    b.addUser('CN=tls-user,O=Warren Tests', 'unused');
    const url = b.tlsUrl!.replace('guest:guest@', '');
    expect(await roundTrip(url, clientTls('client'), { credentials: amqp.credentials.external() })).toBe('over tls');
    expect(b.broker.users.get('CN=tls-user,O=Warren Tests')).toBeDefined();
  });

  it('logs in with EXTERNAL as the common name with ssl_cert_login_from = common_name, and refuses an unknown one', async () => {
    const b = await broker({ ca: pem('ca.pem'), verify: true }, { config: { authMechanisms: ['EXTERNAL'], sslCertLoginFrom: 'common_name' } });
    const url = b.tlsUrl!.replace('guest:guest@', '');
    await expect(amqp.connect(url, { ...clientTls('client'), credentials: amqp.credentials.external() })).rejects.toThrow('ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL');
    b.addUser('tls-user', 'unused');
    expect(await roundTrip(url, clientTls('client'), { credentials: amqp.credentials.external() })).toBe('over tls');
  });

  it('logs pika in with EXTERNAL and its client certificate', async () => {
    const b = await broker({ ca: pem('ca.pem'), verify: true }, { config: { authMechanisms: ['EXTERNAL'] } });
    b.addUser('CN=tls-user,O=Warren Tests', 'unused');
    const port = new URL(b.tlsUrl!).port;
    const script = [
      'import pika, ssl',
      `ctx = ssl.create_default_context(cafile=${JSON.stringify(file('ca.pem'))})`,
      `ctx.load_cert_chain(${JSON.stringify(file('client.pem'))}, ${JSON.stringify(file('client.key'))})`,
      `params = pika.ConnectionParameters('127.0.0.1', ${port}, ssl_options=pika.SSLOptions(ctx, 'localhost'), credentials=pika.credentials.ExternalCredentials())`,
      'c = pika.BlockingConnection(params); ch = c.channel(); q = ch.queue_declare("", exclusive=True).method.queue',
      'ch.basic_publish("", q, b"external"); print(ch.basic_get(q, auto_ack=True)[2].decode()); c.close()',
    ].join('\n');
    const { stdout } = await run('/usr/bin/python3', ['-c', script]);
    expect(stdout).toBe('external\n');
  });

  it('refuses EXTERNAL on a plain connection, and on TLS without verify_peer (unsafe)', async () => {
    const b = await broker({}, { config: { authMechanisms: ['EXTERNAL', 'PLAIN'] } });
    await expect(amqp.connect(b.url.replace('guest:guest@', ''), { credentials: amqp.credentials.external() })).rejects.toThrow(/ACCESS_REFUSED/);
    await expect(amqp.connect(b.tlsUrl!.replace('guest:guest@', ''), { ...clientTls('client'), credentials: amqp.credentials.external() })).rejects.toThrow(/ACCESS_REFUSED/);
  });

  it('serves the management API over HTTPS (management.ssl.*)', async () => {
    const b = await startBroker({ management: { tls: { cert: pem('server.pem'), key: pem('server.key') } } });
    started.push(b);
    const url = new URL(b.managementUrl!);
    expect(url.protocol).toBe('https:');
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: url.hostname, port: url.port, path: '/api/whoami', ca: pem('ca.pem'), auth: 'guest:guest' }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toMatchObject({ name: 'guest', tags: ['administrator'] });
  });

  it('listens for amqps from the command line, and says when a certificate file is missing', async () => {
    const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
    const child = spawn(process.execPath, [cli, '--port', '0', '--in-memory', '--no-management', '--tls-port', '0', '--tls-cert', file('server.pem'), '--tls-key', file('server.key'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const port = await new Promise<number>((resolve) => child.stdout.on('data', (d) => {
      out += d;
      const m = /^tls port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    }));
    expect(await roundTrip(`amqps://guest:guest@127.0.0.1:${port}`, clientTls())).toBe('over tls');
    child.kill('SIGTERM');
    await once(child, 'exit');
    await expect(run(process.execPath, [cli, '--port', '0', '--in-memory', '--tls-cert', file('absent.pem'), '--tls-key', file('server.key')])).rejects.toMatchObject({ stderr: `warren: the TLS certificate ${file('absent.pem')} cannot be read: no such file\n` });
    // a key that is not the certificate's
    await expect(run(process.execPath, [cli, '--port', '0', '--in-memory', '--no-management', '--tls-cert', file('server.pem'), '--tls-key', file('client.key')])).rejects.toMatchObject({
      stderr: expect.stringMatching(new RegExp(`^warren: the TLS certificate, key or CA \\(${file('server.pem')}, ${file('client.key')}\\) cannot be used: they must be PEM, the key matching the certificate \\(`)),
    });
  });
});
