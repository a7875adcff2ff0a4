#!/usr/bin/env node
// The `warren` command: starts a broker and runs until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { Server } from '../server/server.js';
import { loadDefinitionsFile, nodeInfo, openBroker } from '../index.js';
import { defaultConfig } from '../server/config.js';
import { BufferedLogger } from '../broker/logger.js';
import { WARREN_VERSION } from '../server/config.js';

const HELP = `warren ${WARREN_VERSION}: an AMQP 0-9-1 broker that behaves like RabbitMQ

Usage: warren [options]
       warren ctl <command> [arguments]   rabbitmqctl's commands over the management API (docs/ctl.md)

  --host HOST         address to listen on (default 127.0.0.1)
  --port PORT         AMQP port; 0 picks a free one and prints it (default 5672)
  --data-dir DIR      where durable definitions and persistent messages are kept (default ./warren-data)
  --definitions FILE  import a definitions.json (RabbitMQ's schema) before listening
  --management-port PORT  the management HTTP API's port; 0 picks a free one and prints it (default 15672)
  --management-host HOST  address the management API listens on (default: --host)
  --no-management     no management HTTP API
  --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help          this text
  -v, --version       Warren's version
`;

async function main(): Promise<void> {
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
      'data-dir': { type: 'string', default: 'warren-data' },
      definitions: { type: 'string' },
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
  const dataDir = values['data-dir']!;
  const { broker, recoveryMs } = openBroker({ dataDir, logger: early });
  if (values.definitions !== undefined) loadDefinitionsFile(broker, values.definitions);
  const config = defaultConfig();
  const server = new Server({ logger: early, broker, config });
  const bound = await server.listen(port, values.host!);
  const { default: pino } = await import('pino');
  const logger = pino({ level: values['log-level'], base: { pid: process.pid } });
  early.forwardTo(logger);
  server.logger = logger;
  logger.info({ dataDir, ms: recoveryMs }, 'data directory opened');
  logger.info({ host: bound.host, port: bound.port }, `listening on amqp://${bound.host}:${bound.port}`);
  if (port === 0) process.stdout.write(`port ${bound.port}\n`);
  let management: { close(): Promise<void> } | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    Promise.all([management?.close(), server.close()]).then(
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
}

function portOption(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid ${name} ${value}: a port is a number from 0 to 65535`);
  return port;
}

main().catch((err) => {
  process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
