// Warren's embedding API: start a broker inside this process.
import type { Level, Logger as PinoLogger } from 'pino';
import { readFileSync } from 'node:fs';
import { Broker } from './broker/broker.js';
import { DefinitionsError, importDefinitions } from './broker/definitions-file.js';
import { ManualClock, realClock, stopwatch, type Clock } from './broker/clock.js';
import type { Logger } from './broker/logger.js';
import { Server } from './server/server.js';
import { WARREN_VERSION, defaultConfig, type ServerConfig } from './server/config.js';
import type { ManagementServer } from './management/server.js';
import type { NodeInfo } from './management/views.js';
import { FileStore } from './store/file-store.js';
import type { FileSystem } from './store/fs.js';

export interface BrokerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Silent unless asked. */
  logLevel?: Level | 'silent';
  logger?: PinoLogger;
  config?: Partial<ServerConfig>;
  /** Durable definitions and persistent messages are kept (and recovered) here; in memory only when absent. */
  dataDir?: string;
  /** Where time comes from: the machine's clock (the default), 'manual' for a ManualClock, or a Clock of your own. */
  clock?: Clock | 'manual';
  /** The file system the data directory is used through (node:fs; tests inject disk faults here). */
  fileSystem?: FileSystem;
  /** A definitions.json file (RabbitMQ's schema) imported before the listeners open. */
  definitions?: string;
  /** RabbitMQ's management HTTP API: `true` or `{}` for a free port on `host`; off by default. */
  management?: boolean | { port?: number; host?: string };
}

export interface RunningBroker {
  /** amqp://guest:guest@host:port/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly broker: Broker;
  readonly server: Server;
  /** The broker's clock: with `clock: 'manual'`, a ManualClock to move by hand. */
  readonly clock: Clock;
  /** http://guest:guest@host:port when the management API was asked for. */
  readonly managementUrl: string | undefined;
  close(): Promise<void>;
}

export interface OpenOptions {
  dataDir?: string;
  logger: Logger;
  clock?: Clock;
  config?: Partial<ServerConfig>;
  /** The file system the store uses (tests inject faults through it). */
  fs?: FileSystem;
}

/** A broker whose durable state lives in `dataDir` (opened and recovered now), or in memory only. */
export function openBroker(options: OpenOptions): { broker: Broker; recoveryMs: number } {
  const elapsed = stopwatch();
  const { dataDir, logger, fs } = options;
  const clock = options.clock ?? realClock;
  const config = { ...defaultConfig(), ...options.config };
  const store = dataDir === undefined ? undefined : new FileStore({ dir: dataDir, logger, clock, fs });
  const broker = new Broker({ store, clock, logger, dataDir, limits: config });
  return { broker, recoveryMs: elapsed() };
}

export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  // pino loads only when needed: the CLI imports this module before it wants a logger
  const logger = options.logger ?? (await import('pino')).default({ level: options.logLevel ?? 'silent' });
  const clock = options.clock === 'manual' ? new ManualClock() : (options.clock ?? realClock);
  const { broker } = openBroker({ dataDir: options.dataDir, logger, clock, config: options.config, fs: options.fileSystem });
  if (options.definitions !== undefined) loadDefinitionsFile(broker, options.definitions);
  const server = new Server({ logger, config: options.config, broker });
  const host = options.host ?? '127.0.0.1';
  const bound = await server.listen(options.port ?? 0, host);
  let management: ManagementServer | undefined;
  let managementUrl: string | undefined;
  if (options.management) {
    const asked = options.management === true ? {} : options.management;
    const config = { ...defaultConfig(), ...options.config };
    // loaded only when asked for: the router is not needed to start the AMQP listener
    const { ManagementServer } = await import('./management/server.js');
    management = new ManagementServer(broker, logger, nodeInfo(config, bound));
    const http = await management.listen(asked.port ?? 0, asked.host ?? host);
    managementUrl = `http://guest:guest@${urlHost(http.host)}:${http.port}`;
  }
  return {
    url: `amqp://guest:guest@${urlHost(bound.host)}:${bound.port}/`,
    host: bound.host,
    port: bound.port,
    broker,
    server,
    clock,
    managementUrl,
    close: async () => {
      await management?.close();
      await server.close();
    },
  };
}

/**
 * Imports a definitions.json file (as RabbitMQ's load_definitions does at boot). Throws an Error whose
 * message names the file, and the entity and the reason when one cannot be taken.
 */
export function loadDefinitionsFile(broker: Broker, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`definitions file ${path} cannot be read: ${(err as Error).message}`);
  }
  let defs: unknown;
  try {
    defs = JSON.parse(text);
  } catch (err) {
    throw new Error(`definitions file ${path} is not JSON: ${(err as Error).message}`);
  }
  if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) throw new Error(`definitions file ${path} is not a JSON object`);
  try {
    importDefinitions(broker, defs as Parameters<typeof importDefinitions>[1]);
  } catch (err) {
    if (err instanceof DefinitionsError) throw new Error(`definitions file ${path}: ${err.message}`);
    throw err;
  }
}

const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** Who the management API says the node is: RabbitMQ's product and version, Warren's cluster name. */
export function nodeInfo(config: ServerConfig, amqp: { host: string; port: number }): Omit<NodeInfo, 'http'> {
  return { node: config.clusterName, clusterName: config.clusterName, product: config.product, version: config.rabbitmqVersion, warrenVersion: WARREN_VERSION, amqp };
}

export { Broker } from './broker/broker.js';
export { ManualClock, realClock, type Clock, type Timer } from './broker/clock.js';
export { CHANNEL_NAMES, subscribe, type FrameEvent, type LifecycleEvent, type Observables, MessageCounters } from './broker/observation.js';
export { Server } from './server/server.js';
export type { ServerConfig } from './server/config.js';
export type { Policy } from './broker/policy.js';
