// Warren's embedding API: start a broker inside this process.
import type { Level, Logger } from 'pino';
import { Broker } from './broker/broker.js';
import { Server } from './server/server.js';
import type { ServerConfig } from './server/config.js';
import { FileStore } from './store/file-store.js';
import type { StoreLogger } from './store/queue-log.js';

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

/** A broker whose durable state lives in `dataDir` (opened and recovered now), or in memory only. */
export function openBroker(dataDir: string | undefined, logger: StoreLogger): { broker: Broker; recoveryMs: number } {
  const started = Date.now();
  const broker = new Broker(dataDir === undefined ? undefined : new FileStore({ dir: dataDir, logger }));
  return { broker, recoveryMs: Date.now() - started };
}

export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  // pino loads only when needed: the CLI imports this module before it wants a logger
  const logger = options.logger ?? (await import('pino')).default({ level: options.logLevel ?? 'silent' });
  const { broker } = openBroker(options.dataDir, logger);
  const server = new Server({ logger, config: options.config, broker, dataDir: options.dataDir });
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
