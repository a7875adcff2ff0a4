#!/usr/bin/env node
// The `warren` command: starts a broker and runs until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Server, type TlsListenerOptions } from '../server/server.js';
import { loadDefinitionsFile, nodeInfo, openBroker, readDefinitionsFile } from '../index.js';
import { defaultConfig } from '../server/config.js';
import { BufferedLogger } from '../broker/logger.js';
import { WARREN_VERSION } from '../server/config.js';
import { printConfig, resolveSettings, type Settings } from './settings.js';
import type { ServerConfig } from '../server/config.js';
import { FrameTrace } from '../testing/frame-trace.js';

const HELP = `warren ${WARREN_VERSION}: an AMQP 0-9-1 broker that behaves like RabbitMQ

Usage: warren [options]
       warren run [options] -- <command>   a broker for the length of a command (warren run --help)
       warren ctl <command> [arguments]   rabbitmqctl's commands over the management API (docs/ctl.md)
       warren trace FILE [--connection N] [--channel N] [--method NAME]   a frame trace, readably

  --host HOST         address to listen on (default 127.0.0.1)
  --port PORT         AMQP port; 0 picks a free one and prints it (default 5672)
  --print-url         print the AMQP URL (amqp://guest:guest@host:port) on stdout once listening
  --data-dir DIR      where durable definitions and persistent messages are kept (default ./warren-data)
  --in-memory         keep nothing across runs (no data directory; long queues page to a temporary one)
  --definitions FILE  import a definitions.json (RabbitMQ's schema) before listening
  --trace FILE        write every frame in and out to FILE as JSON lines (read it with warren trace FILE)
  --management-port PORT  the management HTTP API's port; 0 picks a free one and prints it (default 15672)
  --management-host HOST  address the management API listens on (default: --host)
  --no-management     no management HTTP API
  --prometheus-port PORT  serve rabbitmq_prometheus's /metrics on PORT (15692 is RabbitMQ's; off unless given)
  --tls-cert FILE, --tls-key FILE  an amqps listener with this certificate and key (PEM)
  --tls-ca FILE       CA certificates for client certificates (ssl_options.verify in a --config file asks for them)
  --tls-port PORT     the amqps port (default 5671; 0 picks a free one and prints it)
  --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info)
  --log-format FORMAT pretty (the default on a terminal) or json (JSON lines, the default otherwise)
  --config FILE       a rabbitmq.conf (sysctl format) with the keys in docs/configuration.md
  --print-config      print every setting, its value and where it came from, and exit
  -h, --help          this text
  -v, --version       Warren's version

Flags win over environment variables (WARREN_<FLAG>, e.g. WARREN_PORT; RabbitMQ's RABBITMQ_NODE_PORT,
RABBITMQ_NODE_IP_ADDRESS, RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS, RABBITMQ_DEFAULT_VHOST,
RABBITMQ_CONFIG_FILE), which win over the config file.
`;

async function main(): Promise<void> {
  if (process.argv[2] === 'run') {
    const { run } = await import('./run.js');
    process.exitCode = await run(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === 'trace') {
    const { traceCommand } = await import('./trace.js');
    process.exitCode = await traceCommand(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === 'ctl') {
    const { ctl } = await import('./ctl.js');
    // exitCode rather than exit(): output piped elsewhere is written out in full first
    process.exitCode = await ctl(process.argv.slice(3), { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s), env: process.env });
    return;
  }
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean' },
      'print-url': { type: 'boolean' },
      definitions: { type: 'string' },
      trace: { type: 'string' },
      'management-port': { type: 'string' },
      'management-host': { type: 'string' },
      'no-management': { type: 'boolean' },
      'prometheus-port': { type: 'string' },
      'tls-port': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      config: { type: 'string' },
      'print-config': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${WARREN_VERSION}\n`);
  // every setting is read and checked before anything listens or a data directory is locked
  const { settings, sources } = resolveSettings(values, process.env);
  if (values['print-config']) return void process.stdout.write(printConfig(settings, sources));
  const { port, managementPort, dataDir } = settings;
  const config: ServerConfig = {
    ...defaultConfig(),
    heartbeat: settings.heartbeat,
    frameMax: settings.frameMax,
    channelMax: settings.channelMax,
    maxMessageSize: settings.maxMessageSize,
    consumerTimeoutMs: settings.consumerTimeoutMs,
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
    memoryHighWatermark: settings.memoryHighWatermark,
    diskFreeLimit: settings.diskFreeLimit,
    loopbackUsers: settings.loopbackUsers,
    authMechanisms: settings.authMechanisms,
    sslCertLoginFrom: settings.sslCertLoginFrom,
  };
  const tls = tlsOptions(settings);
  const managementTls = settings.managementTlsCert === undefined ? undefined : { cert: readPem('management certificate', settings.managementTlsCert), key: readPem('management key', settings.managementTlsKey!), ca: settings.managementTlsCa === undefined ? undefined : readPem('management CA certificate', settings.managementTlsCa) };
  if (managementTls) checkPem(managementTls, [settings.managementTlsCert, settings.managementTlsKey, settings.managementTlsCa]);
  const defaults = { user: settings.defaultUser, password: settings.defaultPass, tags: settings.defaultUserTags, vhost: settings.defaultVhost, permissions: settings.defaultPermissions };
  // listen first: loading pino takes longer than everything else at start-up
  const early = new BufferedLogger();
  const definitions = settings.definitions === undefined ? undefined : readDefinitionsFile(settings.definitions);
  const { broker, recoveryMs } = openDataDir(dataDir, () => openBroker({ dataDir, logger: early, config, defaults }));
  if (definitions !== undefined) loadDefinitionsFile(broker, settings.definitions!, definitions);
  // every frame from the first connection on
  const trace = settings.trace === undefined ? undefined : new FrameTrace(broker, settings.trace);
  const server = new Server({ logger: early, broker, config });
  const bound = await server.listen(port, settings.host).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot listen on ${settings.host}:${port}: ${listenProblem(err)} (choose another with --port)`);
  });
  const tlsBound =
    tls &&
    (await server.listenTls(settings.tlsPort!, settings.host, tls).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot listen for amqps on ${settings.host}:${settings.tlsPort}: ${listenProblem(err)} (choose another with --tls-port)`);
    }));
  // the first line on stdout, for scripts that start warren and read where it is
  if (settings.printUrl) process.stdout.write(`${amqpUrl(settings, bound)}\n`);
  const logger = await makeLogger(settings);
  early.forwardTo(logger);
  server.logger = logger;
  if (dataDir === undefined) logger.info('in memory: nothing is kept across runs');
  else logger.info({ dataDir, ms: recoveryMs }, 'data directory opened');
  logger.info({ host: bound.host, port: bound.port }, `listening on amqp://${bound.host}:${bound.port}`);
  if (port === 0 && !settings.printUrl) process.stdout.write(`port ${bound.port}\n`);
  if (tlsBound) {
    logger.info({ host: tlsBound.host, port: tlsBound.port, verify: tls!.verify, failIfNoPeerCert: tls!.failIfNoPeerCert }, `listening on amqps://${tlsBound.host}:${tlsBound.port}`);
    if (settings.tlsPort === 0) process.stdout.write(`tls port ${tlsBound.port}\n`);
  }
  /** The HTTP listeners (management API, Prometheus), closed with the AMQP one. */
  const listeners: { close(): Promise<void> }[] = [];
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    Promise.all([...listeners.map((l) => l.close()), server.close()])
      .then(() => trace?.close())
      .then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  if (settings.management) {
    const { ManagementServer } = await import('../management/server.js');
    const api = new ManagementServer(broker, logger, nodeInfo(config, bound), managementTls);
    const managementHost = settings.managementHost ?? settings.host;
    const http = await api.listen(managementPort, managementHost).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`the management API cannot listen on ${managementHost}:${managementPort}: ${listenProblem(err)} (choose another with --management-port, or --no-management)`);
    });
    listeners.push(api);
    logger.info({ host: http.host, port: http.port }, `management API on ${managementTls ? 'https' : 'http'}://${http.host}:${http.port}`);
    if (managementPort === 0) process.stdout.write(`management port ${http.port}\n`);
  }
  if (settings.prometheusPort !== undefined) {
    const { PrometheusServer } = await import('../management/prometheus.js');
    const prometheus = new PrometheusServer(broker, nodeInfo(config, bound));
    const host = settings.managementHost ?? settings.host;
    const http = await prometheus.listen(settings.prometheusPort, host).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`the Prometheus endpoint cannot listen on ${host}:${settings.prometheusPort}: ${listenProblem(err)} (choose another with --prometheus-port)`);
    });
    listeners.push(prometheus);
    logger.info({ host: http.host, port: http.port }, `Prometheus metrics on http://${http.host}:${http.port}/metrics`);
    if (settings.prometheusPort === 0) process.stdout.write(`prometheus port ${http.port}\n`);
  }
  // RabbitMQ's line, which wait strategies (testcontainers' among them) look for
  const plugins = (settings.management ? 3 : 0) + (settings.prometheusPort !== undefined ? 1 : 0);
  logger.info(`Server startup complete; ${plugins} plugins started.`);
}

/** The amqps listener's certificate, key and CA, read now (so that a missing file stops the start before anything listens). */
function tlsOptions(s: Settings): TlsListenerOptions | undefined {
  if (s.tlsCert === undefined || s.tlsKey === undefined) return undefined;
  const files = { cert: readPem('certificate', s.tlsCert), key: readPem('key', s.tlsKey), ca: s.tlsCa === undefined ? undefined : readPem('CA certificate', s.tlsCa) };
  checkPem(files, [s.tlsCert, s.tlsKey, s.tlsCa]);
  return { ...files, verify: s.tlsVerify, failIfNoPeerCert: s.tlsFailIfNoPeerCert };
}

/** Whether the TLS library takes the certificate, key and CA, said in words when it does not. */
function checkPem(files: { cert: Buffer; key: Buffer; ca?: Buffer }, paths: (string | undefined)[]): void {
  try {
    createSecureContext(files);
  } catch (err) {
    const named = paths.filter((p) => p !== undefined).join(', ');
    throw new Error(`the TLS certificate, key or CA (${named}) cannot be used: they must be PEM, the key matching the certificate (${(err as Error).message})`);
  }
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`the TLS ${what} ${path} cannot be read: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
}

/** pino with ISO times, to the log file or stdout, as JSON lines or (pino-pretty) readable ones. */
async function makeLogger(s: Settings) {
  const { default: pino } = await import('pino');
  const options = { level: s.logLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  const toFile = s.logFile !== undefined;
  const format = s.logFormat ?? (!toFile && process.stdout.isTTY ? 'pretty' : 'json');
  if (format === 'json') return pino(options, toFile ? pino.destination({ dest: s.logFile!, mkdir: true }) : undefined);
  const { default: pretty } = await import('pino-pretty');
  const destination = toFile ? pino.destination({ dest: s.logFile!, mkdir: true, sync: true }) : 1;
  return pino(options, pretty({ colorize: !toFile && process.stdout.isTTY, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, sync: true, destination }));
}

/** Why a listener could not open, in words. */
function listenProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE') return 'the port is in use';
  if (err.code === 'EACCES') return 'the port needs privileges this process does not have';
  if (err.code === 'EADDRNOTAVAIL') return 'the address is not one of this machine\'s';
  if (err.code === 'ENOTFOUND') return 'the host name does not resolve';
  return err.message;
}

/** Opens the broker on its data directory, saying in words what is wrong with a directory it cannot use. */
function openDataDir<T>(dataDir: string | undefined, open: () => T): T {
  try {
    return open();
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'it is a file, not a directory' : code === 'EACCES' || code === 'EPERM' ? 'this process may not write there' : code === 'EROFS' ? 'the file system is read-only' : undefined;
    if (dataDir !== undefined && why !== undefined) throw new Error(`the data directory ${dataDir} cannot be used: ${why} (choose another with --data-dir, or --in-memory)`);
    throw err;
  }
}

/** The default user's URL for where the broker listens (its vhost too, when it is not '/'). */
function amqpUrl(s: Settings, bound: { host: string; port: number }): string {
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  const vhost = s.defaultVhost === '/' ? '' : `/${encodeURIComponent(s.defaultVhost)}`;
  return `amqp://${encodeURIComponent(s.defaultUser)}:${encodeURIComponent(s.defaultPass)}@${host}:${bound.port}${vhost}`;
}

main().catch((err) => {
  process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
