// Warren's embedding API: start a broker inside this process.
import pino, { type Level, type Logger } from 'pino';
import { Server } from './server/server.js';
import type { ServerConfig } from './server/config.js';

export interface BrokerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Silent unless asked. */
  logLevel?: Level | 'silent';
  logger?: Logger;
  config?: Partial<ServerConfig>;
  /** Durable definitions and persistent messages are kept (and recovered) here; in memory only when absent. */
  dataDir?: string;
}

export interface RunningBroker {
  /** amqp://guest:guest@host:port/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const logger = options.logger ?? pino({ level: options.logLevel ?? 'silent' });
  const server = new Server({ logger, config: options.config, dataDir: options.dataDir });
  const host = options.host ?? '127.0.0.1';
  const bound = await server.listen(options.port ?? 0, host);
  const urlHost = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  return {
    url: `amqp://guest:guest@${urlHost}:${bound.port}/`,
    host: bound.host,
    port: bound.port,
    server,
    close: () => server.close(),
  };
}

export { Server } from './server/server.js';
export type { ServerConfig } from './server/config.js';
export type { Policy } from './broker/policy.js';
