#!/usr/bin/env node
// Runs a client library's own integration tests against Warren (started here, in memory, with its
// management API) or against the broker at --url, and prints the counts as one JSON line.
//   node scripts/client-suite.mjs amqplib /path/to/amqplib-checkout [--url amqp://…] [--management-url http://…]
// The checkout is the client's repository (fetched, e.g. with the tool library's `fetch`), with its
// dependencies installed. Supported: amqplib (its `node --test` suite, URL=…) and pika (its acceptance
// tests). Both dial localhost:5672 themselves, so Warren listens on [::]:5672; with --url, the broker
// must be there too.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBroker } from '../dist/index.js';

const SUITES = {
  amqplib: {
    check: (dir) => existsSync(join(dir, 'test', 'channel_api.test.js')),
    command: () => [process.execPath, ['--test', '--test-timeout=10000', '--test-reporter=tap', '--test-concurrency=1']],
    env: (url) => ({ URL: url }),
    // some of its tests connect to amqp://localhost (one over IPv6) whatever URL says
    port: 5672,
    host: '::',
    counts: (out) => ({
      passed: Number(/^# pass (\d+)$/m.exec(out)?.[1] ?? NaN),
      failed: Number(/^# fail (\d+)$/m.exec(out)?.[1] ?? NaN),
      skipped: Number(/^# skipped (\d+)$/m.exec(out)?.[1] ?? 0) + Number(/^# todo (\d+)$/m.exec(out)?.[1] ?? 0),
      failures: [...out.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]).filter((t) => !/^(?:test\/)?\S+\.test\.js$/.test(t)),
    }),
  },
  pika: {
    check: (dir) => existsSync(join(dir, 'tests', 'acceptance', 'blocking_adapter_test.py')),
    // its acceptance tests, as its CI runs them (pytest, pytest-timeout, twisted, tornado, gevent from Debian)
    command: () => ['/usr/bin/python3', ['-m', 'pytest', '-p', 'no:cacheprovider', '-o', 'python_files=*_tests.py *_test.py', '--timeout', '120', '-q', '-rf', 'tests/acceptance']],
    env: () => ({ PYTHONPATH: '.' }),
    // the tests dial 127.0.0.1:5672 and localhost:5672
    port: 5672,
    host: '::',
    counts: (out) => {
      const summary = /^=*\s*(.*) in [\d.]+s/.exec(out.split('\n').reverse().find((l) => / in [\d.]+s/.test(l)) ?? '')?.[1] ?? '';
      const count = (what) => Number(new RegExp(`(\\d+) ${what}`).exec(summary)?.[1] ?? 0);
      return { passed: count('passed'), failed: count('failed') + count('error'), skipped: count('skipped'), failures: [...out.matchAll(/^FAILED (\S+)/gm)].map((m) => m[1]) };
    },
  },
};

const { values, positionals } = parseArgs({ allowPositionals: true, options: { url: { type: 'string' }, 'management-url': { type: 'string' } } });
const [client, checkout] = positionals;
const suite = SUITES[client];
if (!suite || !checkout) {
  console.error(`usage: node scripts/client-suite.mjs <${Object.keys(SUITES).join('|')}> <checkout> [--url AMQP_URL]`);
  process.exit(64);
}
if (!suite.check(checkout)) {
  console.error(`${checkout} does not look like a ${client} checkout`);
  process.exit(66);
}

const broker = values.url
  ? undefined
  : await startBroker({ management: true, port: suite.port ?? 0, host: suite.host }).catch((err) => {
      console.error(`cannot start Warren on port ${suite.port}, which ${client}'s tests expect: ${err.code === 'EADDRINUSE' ? 'it is in use' : err.message}`);
      process.exit(69);
    });
const url = values.url ?? broker.url;
const managementUrl = values['management-url'] ?? broker?.managementUrl;
const [command, args] = suite.command();
const started = Date.now();
const out = await new Promise((resolve) => {
  let text = '';
  const child = spawn(command, args, { cwd: checkout, env: { ...process.env, ...suite.env(url), ...(managementUrl ? { RABBITMQ_MANAGEMENT_URL: managementUrl } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => (text += d));
  child.on('close', () => resolve(text));
});
await broker?.close();
console.log(JSON.stringify({ client, against: broker ? 'warren' : url, seconds: Math.round((Date.now() - started) / 1000), ...suite.counts(out) }));
