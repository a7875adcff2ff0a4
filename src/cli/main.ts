#!/usr/bin/env node
// The `warren` command: starts a broker and runs until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { Server } from '../server/server.js';
import { loadDefinitionsFile, nodeInfo, openBroker } from '../index.js';
import { defaultConfig } from '../server/config.js';
import { BufferedLogger } from '../broker/logger.js';
import { WARREN_VERSION } from '../server/config.js';
import { portOption } from './options.js';
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
  --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help          this text
  -v, --version       Warren's version
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
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5672' },
      'log-level': { type: 'string', default: 'info' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      'print-url': { type: 'boolean', default: false },
      definitions: { type: 'string' },
      trace: { type: 'string' },
      'management-port': { type: 'string', default: '15672' },
      'management-host': { type: 'string' },
      'no-management': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${WARREN_VERSION}\n`);
  const port = portOption('--port', values.port!);
  const managementPort = portOption('--management-port', values['management-port']!);
  // listen first: loading pino takes longer than everything else at start-up
  const early = new BufferedLogger();
  if (values['in-memory'] && values['data-dir'] !== undefined) throw new Error('--in-memory and --data-dir exclude each other: choose one');
  if (values['data-dir'] === '') throw new Error('--data-dir needs a directory (for no data directory at all, use --in-memory)');
  const dataDir = values['in-memory'] ? undefined : (values['data-dir'] ?? 'warren-data');
  const { broker, recoveryMs } = openBroker({ dataDir, logger: early });
  if (values.definitions !== undefined) loadDefinitionsFile(broker, values.definitions);
  const config = defaultConfig();
  // every frame from the first connection on
  const trace = values.trace === undefined ? undefined : new FrameTrace(broker, values.trace);
  const server = new Server({ logger: early, broker, config });
  const bound = await server.listen(port, values.host!);
  // the first line on stdout, for scripts that start warren and read where it is
  if (values['print-url']) process.stdout.write(`amqp://guest:guest@${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}\n`);
  const { default: pino } = await import('pino');
  const logger = pino({ level: values['log-level'], base: { pid: process.pid } });
  early.forwardTo(logger);
  server.logger = logger;
  if (dataDir === undefined) logger.info('in memory: nothing is kept across runs');
  else logger.info({ dataDir, ms: recoveryMs }, 'data directory opened');
  logger.info({ host: bound.host, port: bound.port }, `listening on amqp://${bound.host}:${bound.port}`);
  if (port === 0 && !values['print-url']) process.stdout.write(`port ${bound.port}\n`);
  let management: { close(): Promise<void> } | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    Promise.all([management?.close(), server.close()])
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
  if (!values['no-management']) {
    const { ManagementServer } = await import('../management/server.js');
    const api = new ManagementServer(broker, logger, nodeInfo(config, bound));
    const managementHost = values['management-host'] ?? values.host!;
    const http = await api.listen(managementPort, managementHost).catch((err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.message;
      throw new Error(`the management API cannot listen on ${managementHost}:${managementPort}: ${why} (choose another with --management-port, or --no-management)`);
    });
    management = api;
    logger.info({ host: http.host, port: http.port }, `management API on http://${http.host}:${http.port}`);
    if (managementPort === 0) process.stdout.write(`management port ${http.port}\n`);
  }
  // RabbitMQ's line, which wait strategies (testcontainers' among them) look for
  logger.info(`Server startup complete; ${management ? 3 : 0} plugins started.`);
}

main().catch((err) => {
  process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
