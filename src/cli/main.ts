#!/usr/bin/env node
// The `warren` command: starts a broker and runs until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { Server } from '../server/server.js';
import { openBroker } from '../index.js';
import { BufferedLogger } from '../broker/logger.js';
import { WARREN_VERSION } from '../server/config.js';

const HELP = `warren ${WARREN_VERSION}: an AMQP 0-9-1 broker that behaves like RabbitMQ

Usage: warren [options]

  --host HOST         address to listen on (default 127.0.0.1)
  --port PORT         AMQP port; 0 picks a free one and prints it (default 5672)
  --data-dir DIR      where durable definitions and persistent messages are kept (default ./warren-data)
  --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info)
  -h, --help          this text
  -v, --version       Warren's version
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5672' },
      'log-level': { type: 'string', default: 'info' },
      'data-dir': { type: 'string', default: 'warren-data' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${WARREN_VERSION}\n`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}`);
  // listen first: loading pino takes longer than everything else at start-up
  const early = new BufferedLogger();
  const dataDir = values['data-dir']!;
  const { broker, recoveryMs } = openBroker({ dataDir, logger: early });
  const server = new Server({ logger: early, broker });
  const bound = await server.listen(port, values.host!);
  const { default: pino } = await import('pino');
  const logger = pino({ level: values['log-level'], base: { pid: process.pid } });
  early.forwardTo(logger);
  server.logger = logger;
  logger.info({ dataDir, ms: recoveryMs }, 'data directory opened');
  logger.info({ host: bound.host, port: bound.port }, `listening on amqp://${bound.host}:${bound.port}`);
  if (port === 0) process.stdout.write(`port ${bound.port}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`warren: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
