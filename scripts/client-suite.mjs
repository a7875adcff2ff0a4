#!/usr/bin/env node
// Runs a client library's own integration tests against Warren (started here, in memory, with its
// management API) or against the broker at --url, and prints the counts as one JSON line.
//   node scripts/client-suite.mjs amqplib /path/to/amqplib-checkout [--url amqp://…] [--management-url http://…]
// The checkout is the client's repository (fetched, e.g. with the tool library's `fetch`), with its
// dependencies installed. Supported: amqplib (its `node --test` suite), pika (its acceptance tests),
// kombu (its py-amqp integration tests), bunny (its rspec integration specs), amqp-client
// (@cloudamqp/amqp-client's vitest suite, which also dials amqps on 5671: Warren gets a self-signed
// certificate the suite does not verify) and amqp091-go (`go test -tags integration`, with the
// management API for its recovery tests). They dial localhost:5672 themselves, so Warren listens on
// [::]:5672 (with --forward, the script listens there and passes each connection on to the broker
// named); with --url, the broker must be there too.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import { startBroker } from '../dist/index.js';

const SUITES_HEADING = "## Client libraries' own test suites";

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
    explained: {
      ...Object.fromEntries(
        ['asyncio', 'select_connection', 'tornado'].map((io) => [
          `tests/acceptance/io_services_tests.py::TestGetaddrinfoWWWGoogleDotComPort80::test_with_${io}_io_services`,
          'resolves www.google.com: no network here',
        ]),
      ),
      // pika 1.4's suite follows RabbitMQ 3.13+, which refuses an unknown exchange type on the channel
      'tests/acceptance/blocking_adapter_test.py::TestInvalidExchangeTypeRaisesConnectionClosed::test':
        "expects a later RabbitMQ's 406 channel error; 3.10.8 closes the connection with 503 COMMAND_INVALID",
    },
    counts: pytestCounts,
  },
  kombu: {
    check: (dir) => existsSync(join(dir, 't', 'integration', 'test_py_amqp.py')),
    // its py-amqp integration tests, as its tox runs them (-E py-amqp), with Debian's py-amqp and pytest
    command: () => ['/usr/bin/python3', ['-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rf', '-E', 'py-amqp', 't/integration/test_py_amqp.py']],
    env: (url) => ({ PYTHONPATH: '.', RABBITMQ_HOST: new URL(url).hostname, RABBITMQ_5672_TCP: new URL(url).port }),
    port: 5672,
    host: '::',
    counts: pytestCounts,
  },
  'amqp-client': {
    check: (dir) => existsSync(join(dir, 'test', 'test.ts')) && existsSync(join(dir, 'src', 'amqp-socket-client.ts')),
    // its own vitest (from its lock file), without coverage; the browser suite needs a WebSocket relay
    command: (dir) => [join(dir, 'node_modules', '.bin', 'vitest'), ['run', '--reporter=json', '--config', 'vitest.config.ts']],
    env: () => ({}),
    port: 5672,
    host: '::',
    tls: 5671,
    explained: {
      'tls.ts: can connect with TLS': 'needs amqps on 5671, which the broker did not offer',
      'tls.ts: can batch send message': 'needs amqps on 5671, which the broker did not offer',
    },
    counts: (out) => {
      const report = JSON.parse(out.slice(out.indexOf('{')));
      const failures = report.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${f.name.replace(/.*\/test\//, '')}: ${a.fullName}`));
      return { passed: report.numPassedTests, failed: report.numFailedTests, skipped: report.numPendingTests + report.numTodoTests, failures };
    },
  },
  bunny: {
    check: (dir) => existsSync(join(dir, 'lib', 'bunny.rb')) && existsSync(join(dir, 'spec', 'higher_level_api', 'integration')),
    // its integration specs as its CI runs them (CI=true), with Debian's rspec and amq-protocol through a
    // Gemfile of what is installed; left out: the stress specs, and the specs that need gems Debian does
    // not have (toxiproxy, and rabbitmq_http_api_client for the two that close connections over HTTP)
    command: (dir) => {
      const specs = ['spec/higher_level_api', 'spec/lower_level_api', 'spec/issues'].flatMap((d) => execFileSync('find', [join(dir, d), '-name', '*_spec.rb'], { encoding: 'utf8' }).trim().split('\n'));
      return ['rspec', ['--format', 'json', ...specs.filter((f) => !/toxiproxy|rabbitmq\/http\/client/.test(readFileSync(f, 'utf8')))]];
    },
    env: (_url, dir) => ({ CI: 'true', BUNDLE_GEMFILE: localGemfile(dir) }),
    port: 5672,
    host: '::',
    management: 15672,
    explained: {
      'spec/higher_level_api/integration/connection_stop_spec.rb: Bunny::Session that recovers from connection.close can be closed':
        'closes the connection through the rabbitmq_http_api_client gem, which Debian does not have',
    },
    // what its bin/ci/before_build sets up with rabbitmqctl
    broker: {
      vhosts: ['bunny_testbed'],
      users: [
        { name: 'bunny_gem', password: 'bunny_password', permissions: { bunny_testbed: { configure: '.*', write: '.*', read: '.*' } } },
        { name: 'bunny_reader', password: 'reader_password', permissions: { bunny_testbed: { configure: '^---$', write: '^---$', read: '.*' } } },
      ],
    },
    counts: (out) => {
      const report = JSON.parse(out.slice(out.indexOf('{"version"')));
      // a spec file that does not load stops rspec before any example: its messages say which
      const failures = [...(report.messages ?? []).filter((m) => /error occurred/.test(m)).map((m) => m.trim().split('\n')[0]), ...report.examples.filter((e) => e.status === 'failed').map((e) => `${e.file_path.replace(/^.*\/spec\//, 'spec/')}: ${e.full_description}`)];
      return { passed: report.examples.filter((e) => e.status === 'passed').length, failed: failures.length, skipped: report.summary.pending_count, failures };
    },
  },
  'amqp091-go': {
    check: (dir) => existsSync(join(dir, 'integration_test.go')) && existsSync(join(dir, 'connection.go')),
    // its unit and integration tests (build tag integration), which dial AMQP_URL and close connections
    // through RABBITMQ_MANAGEMENT_URL; Go and the suite's modules must be at hand (GOFLAGS, GOPROXY…)
    command: () => ['go', ['test', '-tags', 'integration', '-json', '-count=1', '-timeout', '10m', './...']],
    env: (url) => ({ AMQP_URL: `${url}/` }),
    port: 5672,
    host: '::',
    counts: (out) => {
      const results = new Map();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line);
        const key = `${e.Package} ${e.Test}`;
        if (!e.Test) continue;
        // a test that started and never reported (its binary died) counts as failed
        if (e.Action === 'run') results.set(key, 'fail');
        if (['pass', 'fail', 'skip'].includes(e.Action)) results.set(key, e.Action);
      }
      const count = (a) => [...results.values()].filter((v) => v === a).length;
      return { passed: count('pass'), failed: count('fail'), skipped: count('skip'), failures: [...results].filter(([, v]) => v === 'fail').map(([k]) => k.split(' ')[1]) };
    },
  },
};

/** The counts of pytest's summary line, and the tests it names as FAILED (with -rf). */
function pytestCounts(out) {
  const summary = /^=*\s*(.*) in [\d.]+s/.exec(out.split('\n').reverse().find((l) => / in [\d.]+s/.test(l)) ?? '')?.[1] ?? '';
  const count = (what) => Number(new RegExp(`(\\d+) ${what}`).exec(summary)?.[1] ?? 0);
  return { passed: count('passed'), failed: count('failed') + count('error'), skipped: count('skipped'), failures: [...out.matchAll(/^FAILED (\S+)/gm)].map((m) => m[1]) };
}

/** A Gemfile naming only what is installed (the checkout's bunny, rspec), for a suite whose spec helper runs Bundler.require. */
function localGemfile(dir) {
  const gemfile = join(mkdtempSync(join(tmpdir(), 'warren-suite-gems-')), 'Gemfile');
  writeFileSync(gemfile, `source "https://rubygems.org"\ngem "bunny", path: ${JSON.stringify(dir)}\ngem "rspec"\n`);
  return gemfile;
}

/** A throwaway self-signed certificate for localhost (suites that dial amqps without verifying it). */
function selfSigned() {
  const dir = mkdtempSync(join(tmpdir(), 'warren-suite-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const pair = { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  rmSync(dir, { recursive: true });
  return pair;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string' }, 'management-url': { type: 'string' }, forward: { type: 'string' }, record: { type: 'boolean', default: false } },
});
const [client, checkout] = positionals;
const suite = SUITES[client];
if (!suite || !checkout) {
  console.error(`usage: node scripts/client-suite.mjs <${Object.keys(SUITES).join('|')}> <checkout> [--url AMQP_URL | --forward HOST:PORT] [--record]`);
  process.exit(64);
}
if (!suite.check(checkout)) {
  console.error(`${checkout} does not look like a ${client} checkout`);
  process.exit(66);
}

/** Listens where the suite dials and passes every connection on to `target` (another broker, e.g. RabbitMQ on 5682). */
async function forwarder(port, host, target) {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const server = createServer((inbound) => {
    const outbound = connect(targetPort, targetHost);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { url: `amqp://guest:guest@${targetHost}:${targetPort}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

const listenFailed = (err) => {
  console.error(`cannot listen on port ${suite.port}, which ${client}'s tests expect: ${err.code === 'EADDRINUSE' ? 'it is in use' : err.message}`);
  process.exit(69);
};
const forward = values.forward ? await forwarder(suite.port, suite.host, values.forward).catch(listenFailed) : undefined;
const broker =
  values.url || forward
    ? undefined
    : await startBroker({
        management: suite.management ? { port: suite.management } : true,
        port: suite.port ?? 0,
        host: suite.host,
        ...(suite.tls ? { tls: { port: suite.tls, ...selfSigned() } } : {}),
        ...suite.broker,
      }).catch(listenFailed);
const url = values.url ?? forward?.url ?? broker.url;
const managementUrl = values['management-url'] ?? broker?.managementUrl;
// Warren names itself RabbitMQ in connection.start, as it must: the one started here is named by its build
const against = broker ? `Warren ${warrenVersion()}` : `${await brokerName(url)} at ${new URL(url).host}`;
const [command, args] = suite.command(checkout);
const started = Date.now();
const out = await new Promise((resolve) => {
  let text = '';
  const child = spawn(command, args, { cwd: checkout, env: { ...process.env, ...suite.env(url, checkout), ...(managementUrl ? { RABBITMQ_MANAGEMENT_URL: managementUrl } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => (text += d));
  child.on('close', () => resolve(text));
});
await broker?.close();
await forward?.close();
const result = { client, checkout: describeCheckout(checkout), against, seconds: Math.round((Date.now() - started) / 1000), ...suite.counts(out) };
console.log(JSON.stringify(result));
if (values.record) record(result);

/** The broker's own name and version, from its connection.start. */
async function brokerName(brokerUrl) {
  const conn = await amqp.connect(brokerUrl);
  const { product, version } = conn.connection.serverProperties;
  await conn.close();
  return `${product} ${version}`;
}

function warrenVersion() {
  const root = join(import.meta.dirname, '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const git = (...a) => execFileSync('git', ['-C', root, ...a], { encoding: 'utf8' }).trim();
  // --record's own edit of docs/CONFORMANCE.md does not count as a change to the build
  const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!docs/CONFORMANCE.md');
  return `${version} (${git('log', '-1', '--format=%h')}${changed ? ' with uncommitted changes' : ''})`;
}

/** The checkout's project and commit, as its git describes them. */
function describeCheckout(dir) {
  const git = (...a) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8' }).trim();
  try {
    return `${git('describe', '--tags', '--always', '--dirty')} (${git('log', '-1', '--format=%h %cs')})`;
  } catch {
    return 'not a git checkout';
  }
}

/**
 * Writes the run into docs/CONFORMANCE.md's suites table, replacing the row of the same suite, checkout
 * and broker (Warren's whatever its build); the matrix above it belongs to test/interop/matrix.test.ts.
 */
function record(r) {
  const doc = join(import.meta.dirname, '..', 'docs', 'CONFORMANCE.md');
  const text = readFileSync(doc, 'utf8');
  const at = text.indexOf(SUITES_HEADING);
  const head = at < 0 ? `${text.trimEnd()}\n\n` : text.slice(0, at);
  const rows = at < 0 ? [] : text.slice(at).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| suite ')).map((l) => l.slice(2, -2).split(' | '));
  const failures = r.failures.length === 0 ? '' : r.failures.map((f) => `${f}${suite.explained?.[f] ? ` (${suite.explained[f]})` : ''}`).join('; ');
  const row = [r.client, r.checkout, r.against, String(r.passed), String(r.failed), String(r.skipped), new Date().toISOString().slice(0, 10), failures.replaceAll('|', '\\|')];
  // one row per suite, checkout and broker: a later build of Warren replaces the earlier one's
  const broker = (x) => x[2].split(' (')[0];
  const kept = rows.filter((x) => !(x[0] === row[0] && x[1] === row[1] && broker(x) === broker(row)));
  kept.push(row);
  kept.sort((x, y) => x[0].localeCompare(y[0]) || x[2].localeCompare(y[2]));
  writeFileSync(
    doc,
    `${head}${SUITES_HEADING}\n\n` +
      'Recorded by `node scripts/client-suite.mjs <client> <checkout> [--forward 127.0.0.1:5682] --record`: a client library\'s own\n' +
      'tests run against Warren, or against the broker the script forwards its port to, and the counts they printed.\n\n' +
      '| suite | checkout | against | passed | failed | skipped | run on | failures |\n|---|---|---|---|---|---|---|---|\n' +
      kept.map((x) => `| ${x.join(' | ')} |`).join('\n') +
      '\n',
  );
}
