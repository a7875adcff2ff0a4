// Every client against Warren, feature by feature (test/interop/clients.mjs for the Node clients,
// pika_features.py, py_amqp_features.py, kombu_features.py and bunny_features.rb for Debian's, amqp-tools below), and docs/CONFORMANCE.md generated from the results:
// the committed file must match this run's matrix; WARREN_WRITE_CONFORMANCE=1 writes it.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { hasOpenssl, makeCertificates, type Certificates } from '../support/certificates.js';
// @ts-expect-error plain JavaScript, shared with no build step
import { FEATURES, NODE_CLIENTS, RASCAL } from './clients.mjs';

const run = promisify(execFile);
const DOC = join(import.meta.dirname, '..', '..', 'docs', 'CONFORMANCE.md');
const featureNames = Object.keys(FEATURES as Record<string, unknown>);

interface Env {
  url: string;
  tlsUrl: string;
  ca: Buffer;
  caFile: string;
}
type Result = 'yes' | 'n/a' | `FAILED: ${string}`;
const results = new Map<string, { version: string; features: Record<string, Result> }>();

let broker: RunningBroker;
let certs: Certificates;
let env: Env;

const works = (command: string, args: string[]) => spawnSync(command, args).status === 0;
/** Clients driven by a script of the same scenarios, printing a JSON line per feature (Debian packages). */
const SCRIPT_CLIENTS = [
  { name: 'python3-pika (BlockingConnection)', package: 'python3-pika', command: '/usr/bin/python3', script: 'pika_features.py', installed: works('/usr/bin/python3', ['-c', 'import pika']) },
  { name: 'python3-pika (AsyncioConnection)', package: 'python3-pika', command: '/usr/bin/python3', script: 'pika_asyncio_features.py', installed: works('/usr/bin/python3', ['-c', 'import pika']) },
  { name: 'python3-amqp', package: 'python3-amqp', command: '/usr/bin/python3', script: 'py_amqp_features.py', installed: works('/usr/bin/python3', ['-c', 'import amqp']) },
  { name: 'python3-kombu', package: 'python3-kombu', command: '/usr/bin/python3', script: 'kombu_features.py', installed: works('/usr/bin/python3', ['-c', 'import kombu']) },
  { name: 'ruby-bunny', package: 'ruby-bunny', command: 'ruby', script: 'bunny_features.rb', installed: works('ruby', ['-e', 'require "bunny"']) },
];
const hasAmqpTools = works('sh', ['-c', 'command -v amqp-declare-queue']);
for (const [missing, what] of [
  [!hasOpenssl, 'openssl (for the TLS certificates)'],
  [!hasAmqpTools, 'amqp-tools'],
  ...SCRIPT_CLIENTS.map((c) => [!c.installed, c.package] as const),
] as const) {
  if (missing) console.warn(`interop matrix: ${what} is not installed; its column is skipped`);
}

/** amqp-tools: what its commands can do (no confirms, no consumer callbacks for RPC). */
async function amqpTools(e: Env): Promise<Record<string, Result>> {
  const q = `interop-tools-${Date.now()}`;
  const tls = ['--ssl', '--cacert', e.caFile];
  const tlsServer = new URL(e.tlsUrl);
  const out: Record<string, Result> = {};
  const attempt = async (feature: string, fn: () => Promise<void>) => {
    try {
      await fn();
      out[feature] = 'yes';
    } catch (err) {
      out[feature] = `FAILED: ${(err as Error).message.split('\n')[0]}`;
    }
  };
  await attempt('connect', async () => void (await run('amqp-declare-queue', ['--url', e.url, '-q', `${q}-c`, '-d'])));
  await attempt('declare', async () => {
    const { stdout } = await run('amqp-declare-queue', ['--url', e.url, '-q', q]);
    expect(stdout.trim()).toBe(q);
  });
  await attempt('publish and consume', async () => {
    await run('amqp-publish', ['--url', e.url, '-r', q, '-b', 'hello']);
    const { stdout } = await run('amqp-consume', ['--url', e.url, '-q', q, '-c', '1', 'cat']);
    expect(stdout).toBe('hello');
  });
  await attempt('ack', async () => {
    await run('amqp-publish', ['--url', e.url, '-r', q, '-b', 'to ack']);
    const { stdout } = await run('amqp-get', ['--url', e.url, '-q', q]);
    expect(stdout).toBe('to ack');
  });
  out['reject and requeue'] = 'n/a';
  out.confirms = 'n/a';
  out['RPC with direct reply-to'] = 'n/a';
  await attempt('heartbeats', async () => void (await run('amqp-declare-queue', ['--url', e.url, '--heartbeat', '1', '-q', `${q}-h`])));
  // by name: the certificate's, which rabbitmq-c checks
  await attempt('TLS', async () => void (await run('amqp-declare-queue', ['--url', `amqps://guest:guest@localhost:${tlsServer.port}`, ...tls, '-q', `${q}-t`], { timeout: 10_000 })));
  for (const suffix of ['', '-c', '-h', '-t']) await run('amqp-delete-queue', ['--url', e.url, '-q', `${q}${suffix}`]).catch(() => {});
  return out;
}

function matrix(): string {
  const clients = [...results.keys()];
  const header = `| feature | ${clients.map((c) => `${c} ${results.get(c)!.version}`).join(' | ')} |`;
  const rule = `|---|${clients.map(() => '---').join('|')}|`;
  const rows = featureNames.map((f) => `| ${f} | ${clients.map((c) => results.get(c)!.features[f] ?? 'n/a').join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

describe.skipIf(!hasOpenssl)('the interop matrix', () => {
  beforeAll(async () => {
    certs = makeCertificates();
    broker = await startBroker({ tls: { cert: certs.pem('server.pem'), key: certs.pem('server.key') } });
    env = { url: broker.url, tlsUrl: broker.tlsUrl!, ca: certs.pem('ca.pem'), caFile: certs.file('ca.pem') };
  });
  afterAll(async () => {
    await broker?.close();
  });

  for (const [name, client] of Object.entries(NODE_CLIENTS as Record<string, { version(): string; open(url: string, opts?: object): Promise<unknown> }>)) {
    it(`${name}: every feature`, async () => {
      const features: Record<string, Result> = {};
      for (const [feature, scenario] of Object.entries(FEATURES as Record<string, (a: unknown, e: Env) => Promise<void>>)) {
        try {
          await scenario(client, env);
          features[feature] = 'yes';
        } catch (err) {
          features[feature] = `FAILED: ${(err as Error).message}`;
        }
      }
      results.set(name, { version: client.version(), features });
      expect(features).toEqual(Object.fromEntries(featureNames.map((f) => [f, 'yes'])));
    }, 60_000);
  }

  it('rascal: every feature it has (no direct reply-to)', async () => {
    const features: Record<string, Result> = {};
    for (const [feature, scenario] of Object.entries(RASCAL.features as Record<string, (e: Env) => Promise<void>>)) {
      try {
        await scenario(env);
        features[feature] = 'yes';
      } catch (err) {
        features[feature] = `FAILED: ${(err as Error).message}`;
      }
    }
    results.set('rascal', { version: RASCAL.version(), features });
    expect(features).toEqual(Object.fromEntries(featureNames.filter((f) => f !== 'RPC with direct reply-to').map((f) => [f, 'yes'])));
  }, 60_000);

  for (const c of SCRIPT_CLIENTS) {
    it.skipIf(!c.installed)(`${c.name}: every feature`, async () => {
      const { stdout } = await run(c.command, [join(import.meta.dirname, c.script), env.url, env.tlsUrl, env.caFile], { timeout: 60_000 });
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { version?: string; feature?: string; ok?: boolean; error?: string });
      const features = Object.fromEntries(lines.filter((l) => l.feature).map((l) => [l.feature!, (l.ok ? 'yes' : `FAILED: ${l.error}`) as Result]));
      results.set(c.name, { version: lines[0].version!, features });
      expect(features).toEqual(Object.fromEntries(featureNames.map((f) => [f, 'yes'])));
    }, 60_000);
  }

  it.skipIf(!hasAmqpTools)('amqp-tools (rabbitmq-c): what its commands can do', async () => {
    const version = /Version: (\S+)/.exec(spawnSync('dpkg', ['-s', 'amqp-tools'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '';
    const features = await amqpTools(env);
    results.set('amqp-tools', { version, features });
    expect(Object.values(features).filter((r) => r.startsWith('FAILED'))).toEqual([]);
  }, 60_000);

  it('is what docs/CONFORMANCE.md says', () => {
    const table = matrix();
    const doc = [
      '# Conformance',
      '',
      'Generated by `test/interop/matrix.test.ts` (`WARREN_WRITE_CONFORMANCE=1 npx vitest run test/interop/matrix.test.ts`): each',
      'client drives Warren through the features below with its own API (the scenarios are in',
      '`test/interop/clients.mjs` and the `*_features.py`/`.rb` scripts beside it); `n/a` is a feature the client has no',
      'way to use. The suite fails when this table no longer matches a run.',
      '',
      table,
      '',
      `Generated on ${new Date().toISOString().slice(0, 10)} with Node.js ${process.version}.`,
      '',
    ].join('\n');
    // the suites' counts below the matrix are scripts/client-suite.mjs's to write
    const current = readFileSync(DOC, 'utf8');
    const suites = current.indexOf("## Client libraries' own test suites");
    if (process.env.WARREN_WRITE_CONFORMANCE) writeFileSync(DOC, suites < 0 ? doc : `${doc}\n${current.slice(suites)}`);
    // a machine without one of the clients has a column fewer: nothing to compare the document with
    if (!hasAmqpTools || SCRIPT_CLIENTS.some((c) => !c.installed)) return console.warn('docs/CONFORMANCE.md not compared: a client is missing here');
    expect(readFileSync(DOC, 'utf8')).toContain(table);
  });
});
