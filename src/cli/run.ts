// `warren run [options] -- command…`: a broker for the length of one command (a test suite in CI). The
// command finds it through AMQP_URL, RABBITMQ_URL and RABBITMQ_MANAGEMENT_URL; warren exits with the
// command's status once the broker is closed.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { startBroker } from '../index.js';
import { portOption } from './options.js';

export const RUN_HELP = `Usage: warren run [options] -- <command> [arguments]

Starts a broker (in memory, on free ports unless told), runs the command with AMQP_URL, RABBITMQ_URL
and RABBITMQ_MANAGEMENT_URL set, stops the broker and exits with the command's status.

  --port PORT             AMQP port (default 0: a free one)
  --management-port PORT  management API port (default 0: a free one)
  --no-management         no management HTTP API
  --data-dir DIR          keep durable state here (default: nothing kept)
  --definitions FILE      import a definitions.json before the command starts
  --log-level LEVEL       the broker's log level, on stderr (default warn)
`;

export async function run(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const command = split < 0 ? [] : argv.slice(split + 1);
  const { values } = parseArgs({
    args: own,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      'management-port': { type: 'string', default: '0' },
      'no-management': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      definitions: { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (command.length === 0) throw new Error('warren run needs a command after --, as in: warren run -- npm test');
  const { default: pino } = await import('pino');
  const logger = pino({ level: values['log-level'] }, pino.destination(2));
  const broker = await startBroker({
    host: values.host,
    port: portOption('--port', values.port!),
    logger,
    dataDir: values['data-dir'],
    definitions: values.definitions,
    management: values['no-management'] ? false : { port: portOption('--management-port', values['management-port']!) },
  });
  const env: NodeJS.ProcessEnv = { ...process.env, AMQP_URL: broker.url, RABBITMQ_URL: broker.url };
  if (broker.managementUrl) env.RABBITMQ_MANAGEMENT_URL = broker.managementUrl;
  try {
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env });
      child.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code === 'ENOENT' ? `command not found: ${command[0]}` : `${command[0]}: ${err.message}`)));
      // a command killed by a signal exits as shells report it: 128 + the signal's number
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => child.kill(s));
    });
  } finally {
    await broker.close();
  }
}
