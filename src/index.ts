// Warren's embedding API: start a broker inside this process.
import type { Level, Logger as PinoLogger } from 'pino';
import { readFileSync } from 'node:fs';
import { Broker, type BrokerDefaults } from './broker/broker.js';
import { DefinitionsError, importDefinitions } from './broker/definitions-file.js';
import { ManualClock, realClock, stopwatch, type Clock } from './broker/clock.js';
import type { Logger } from './broker/logger.js';
import { Server } from './server/server.js';
import { WARREN_VERSION, defaultConfig, type ServerConfig } from './server/config.js';
import type { ManagementServer } from './management/server.js';
import type { PrometheusServer } from './management/prometheus.js';
import type { NodeInfo } from './management/views.js';
import { FileStore } from './store/file-store.js';
import { Faults } from './testing/faults.js';
import { FrameTrace } from './testing/frame-trace.js';
import { Inspector, type PeekedMessage } from './testing/inspect.js';
import { waitForMessage, waits, type WaitOptions } from './testing/wait.js';
import { TemporaryPager } from './store/temporary-pager.js';
import type { FileSystem } from './store/fs.js';

export interface BrokerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Silent unless asked. */
  logLevel?: Level | 'silent';
  logger?: PinoLogger;
  config?: Partial<ServerConfig>;
  /**
   * Durable definitions and persistent messages are kept (and recovered) here. Without it nothing is
   * kept across runs, and queues page what does not fit in memory to a private temporary directory.
   */
  dataDir?: string;
  /** Where time comes from: the machine's clock (the default), 'manual' for a ManualClock, or a Clock of your own. */
  clock?: Clock | 'manual';
  /** The file system the data directory is used through (node:fs; tests inject disk faults here). */
  fileSystem?: FileSystem;
  /** Definitions in RabbitMQ's definitions.json schema, as a file path or an object, imported before the listeners open. */
  definitions?: string | Definitions;
  /** Users besides guest (see addUser: each gets full permissions in '/' unless told otherwise). */
  users?: UserSpec[];
  /** Vhosts to create; guest gets full permissions in them. */
  vhosts?: string[];
  /** RabbitMQ's management HTTP API: `true` or `{}` for a free port on `host`; off by default; over HTTPS with `tls`. */
  management?: boolean | { port?: number; host?: string; tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer } };
  /** A file to write every frame in and out to, as JSON lines (`warren trace FILE` prints it readably). */
  trace?: string;
  /** rabbitmq_prometheus's /metrics: `true` or `{}` for a free port on `host`; off by default. */
  prometheus?: boolean | { port?: number; host?: string };
  /** An amqps listener too (a free port unless told); `verify` asks clients for certificates (verify_peer). */
  tls?: { port?: number; cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; verify?: boolean; failIfNoPeerCert?: boolean };
}

/** RabbitMQ's definitions.json, as an object. */
export type Definitions = Record<string, unknown>;

export interface PermissionSpec {
  configure: string;
  write: string;
  read: string;
}

export interface UserSpec {
  name: string;
  password: string;
  /** RabbitMQ's user tags: administrator, monitoring, policymaker, management. */
  tags?: string[];
  /** By vhost; `{ '/': all }` when not given. */
  permissions?: Record<string, PermissionSpec>;
}

const ALL: PermissionSpec = { configure: '.*', write: '.*', read: '.*' };

export interface RunningBroker {
  /** amqp://guest:guest@host:port: vhost '/' to every client (no trailing slash, which some read as vhost ''). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The broker itself (a new one after restart()). */
  readonly broker: Broker;
  readonly server: Server;
  /** The broker's clock: with `clock: 'manual'`, a ManualClock to move by hand. */
  readonly clock: Clock;
  /** http://guest:guest@host:port when the management API was asked for. */
  readonly managementUrl: string | undefined;
  /** http://host:port/metrics when Prometheus metrics were asked for. */
  readonly prometheusUrl: string | undefined;
  /** amqps://guest:guest@host:port when a TLS listener was asked for. */
  readonly tlsUrl: string | undefined;
  /** Queues, exchanges, bindings, connections, channels and consumers as they are now; peek at messages. */
  readonly inspect: Inspector;
  /** Waits for the broker to reach a state: `await broker.waitFor.queue('q', { messages: 3 })`. */
  readonly waitFor: ReturnType<typeof waits>;
  /** Until a ready message in the queue satisfies `predicate`; it stays in the queue. */
  waitForMessage(queue: string, predicate: (m: PeekedMessage) => boolean, options?: WaitOptions): Promise<PeekedMessage>;
  /** Connections closed, dropped or blackholed, alarms, server-side cancels, refused connections. */
  readonly faults: Faults;
  /** Adds (or updates) a user; with full permissions in '/' unless `permissions` says otherwise. */
  addUser(name: string, password: string, options?: { tags?: string[]; permissions?: Record<string, PermissionSpec> }): void;
  deleteUser(name: string): void;
  setPermissions(user: string, vhost: string, permissions: PermissionSpec): void;
  /** Creates a vhost, guest getting full permissions in it (as when guest creates it over the management API). */
  addVhost(name: string): void;
  /** Deletes a vhost and everything in it; its connections are closed (320). */
  deleteVhost(name: string): void;
  /**
   * Back to the broker as it started: nothing declared, guest and the `users`, `vhosts` and
   * `definitions` it was started with. Open connections are closed with 320 as a restart closes them,
   * or, with `{ connections: 'keep' }`, kept (their vhosts are emptied in place).
   */
  reset(options?: { connections?: 'close' | 'keep' }): void;
  /**
   * Stops and starts again on the same ports, as a broker restart: clients are closed with 320 and
   * must reconnect; with a `dataDir`, durable definitions and persistent messages come back.
   */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  dataDir?: string;
  logger: Logger;
  clock?: Clock;
  config?: Partial<ServerConfig>;
  /** The file system the store uses (tests inject faults through it). */
  fs?: FileSystem;
  /** The user and vhost a fresh broker starts with (guest in '/'). */
  defaults?: Partial<BrokerDefaults>;
}

/** A broker whose durable state lives in `dataDir` (opened and recovered now), or in memory only. */
export function openBroker(options: OpenOptions): { broker: Broker; recoveryMs: number } {
  const elapsed = stopwatch();
  const { dataDir, logger, fs } = options;
  const clock = options.clock ?? realClock;
  const config = { ...defaultConfig(), ...options.config };
  const store = dataDir === undefined ? undefined : new FileStore({ dir: dataDir, logger, clock, fs });
  // in memory, queues still page out to a private temporary directory
  const pager = store === undefined ? new TemporaryPager(logger, clock) : undefined;
  const broker = new Broker({ store, pager, clock, logger, dataDir, limits: config, nodeName: config.clusterName, defaults: options.defaults });
  return { broker, recoveryMs: elapsed() };
}

/** One run of the broker, its AMQP listener and its management API. */
interface Instance {
  broker: Broker;
  server: Server;
  trace: FrameTrace | undefined;
  management: ManagementServer | undefined;
  prometheus: PrometheusServer | undefined;
  amqp: { host: string; port: number };
  http: { host: string; port: number } | undefined;
  metrics: { host: string; port: number } | undefined;
  amqps: { host: string; port: number } | undefined;
}

export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  // pino loads only when needed: the CLI imports this module before it wants a logger
  const logger = options.logger ?? (await import('pino')).default({ level: options.logLevel ?? 'silent' });
  const clock = options.clock === 'manual' ? new ManualClock() : (options.clock ?? realClock);
  const host = options.host ?? '127.0.0.1';
  const config = { ...defaultConfig(), ...options.config };

  const setUp = (broker: Broker) => {
    if (typeof options.definitions === 'string') loadDefinitionsFile(broker, options.definitions);
    else if (options.definitions !== undefined) importDefinitions(broker, options.definitions as Parameters<typeof importDefinitions>[1]);
    for (const v of options.vhosts ?? []) addVhost(broker, v);
    for (const u of options.users ?? []) addUser(broker, u.name, u.password, u);
  };
  const launch = async (ports: { amqp: number; http: number | undefined; metrics: number | undefined; amqps: number | undefined }): Promise<Instance> => {
    const { broker } = openBroker({ dataDir: options.dataDir, logger, clock, config: options.config, fs: options.fileSystem });
    try {
      setUp(broker);
    } catch (err) {
      broker.close();
      throw err;
    }
    const trace = options.trace === undefined ? undefined : new FrameTrace(broker, options.trace);
    const server = new Server({ logger, config: options.config, broker });
    const amqp = await server.listen(ports.amqp, host);
    const instance: Instance = { broker, server, trace, management: undefined, prometheus: undefined, amqp, http: undefined, metrics: undefined, amqps: undefined };
    if (options.tls) {
      const t = options.tls;
      instance.amqps = await server.listenTls(ports.amqps ?? t.port ?? 0, host, { cert: t.cert, key: t.key, ca: t.ca, verify: t.verify ?? false, failIfNoPeerCert: t.failIfNoPeerCert ?? false });
    }
    // loaded only when asked for: neither is needed to start the AMQP listener
    if (options.management) {
      const asked = options.management === true ? {} : options.management;
      const { ManagementServer } = await import('./management/server.js');
      instance.management = new ManagementServer(broker, logger, nodeInfo(config, amqp), asked.tls);
      instance.http = await instance.management.listen(ports.http ?? asked.port ?? 0, asked.host ?? host);
    }
    if (options.prometheus) {
      const asked = options.prometheus === true ? {} : options.prometheus;
      const { PrometheusServer } = await import('./management/prometheus.js');
      instance.prometheus = new PrometheusServer(broker, nodeInfo(config, amqp));
      instance.metrics = await instance.prometheus.listen(ports.metrics ?? asked.port ?? 0, asked.host ?? host);
    }
    return instance;
  };
  const stop = async (i: Instance) => {
    await i.management?.close();
    await i.prometheus?.close();
    await i.server.close();
    await i.trace?.close();
  };

  let current = await launch({ amqp: options.port ?? 0, http: undefined, metrics: undefined, amqps: undefined });
  const inspect = new Inspector(() => current.broker);
  const { amqp, http, metrics, amqps } = current;
  return {
    url: `amqp://guest:guest@${urlHost(amqp.host)}:${amqp.port}`,
    host: amqp.host,
    port: amqp.port,
    get broker() {
      return current.broker;
    },
    get server() {
      return current.server;
    },
    clock,
    managementUrl: http && `${typeof options.management === 'object' && options.management.tls ? 'https' : 'http'}://guest:guest@${urlHost(http.host)}:${http.port}`,
    prometheusUrl: metrics && `http://${urlHost(metrics.host)}:${metrics.port}/metrics`,
    tlsUrl: amqps && `amqps://guest:guest@${urlHost(amqps.host)}:${amqps.port}`,
    inspect,
    waitFor: waits(() => current.broker, inspect),
    waitForMessage: (queue, predicate, waitOptions) => waitForMessage(() => current.broker, inspect, queue, predicate, waitOptions),
    faults: new Faults(() => current.server),
    addUser: (name, password, userOptions) => addUser(current.broker, name, password, userOptions ?? {}),
    deleteUser: (name) => {
      current.broker.users.delete(name);
      current.broker.permissions.clearUser(name);
    },
    setPermissions: (user, vhost, permissions) => current.broker.permissions.set(user, vhost, permissions),
    addVhost: (name) => addVhost(current.broker, name),
    deleteVhost: (name) => void current.broker.deleteVhost(name),
    reset: (resetOptions = {}) => {
      current.broker.reset(resetOptions.connections ?? 'close');
      setUp(current.broker);
    },
    restart: async () => {
      await stop(current);
      current = await launch({ amqp: amqp.port, http: http?.port, metrics: metrics?.port, amqps: amqps?.port });
    },
    close: () => stop(current),
  };
}

function addUser(broker: Broker, name: string, password: string, options: { tags?: string[]; permissions?: Record<string, PermissionSpec> }): void {
  broker.users.add(name, password, options.tags ?? []);
  for (const [vhost, p] of Object.entries(options.permissions ?? { '/': ALL })) broker.permissions.set(name, vhost, p);
}

function addVhost(broker: Broker, name: string): void {
  broker.addVhost(name);
  if (broker.users.get('guest')) broker.permissions.set('guest', name, ALL);
}

/**
 * Imports a definitions.json file (as RabbitMQ's load_definitions does at boot). Throws an Error whose
 * message names the file, and the entity and the reason when one cannot be taken.
 */
export function loadDefinitionsFile(broker: Broker, path: string, defs: Definitions = readDefinitionsFile(path)): void {
  try {
    importDefinitions(broker, defs as Parameters<typeof importDefinitions>[1]);
    broker.logger.info({ file: path }, 'definitions imported');
  } catch (err) {
    if (err instanceof DefinitionsError) throw new Error(`definitions file ${path}: ${err.message}`);
    throw err;
  }
}

/** A definitions.json file, read and parsed (the CLI does it before it locks the data directory). */
export function readDefinitionsFile(path: string): Definitions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`definitions file ${path} cannot be read: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`);
  }
  let defs: unknown;
  try {
    defs = JSON.parse(text);
  } catch (err) {
    throw new Error(`definitions file ${path} is not JSON: ${(err as Error).message}`);
  }
  if (defs === null || typeof defs !== 'object' || Array.isArray(defs)) throw new Error(`definitions file ${path} is not a JSON object`);
  return defs as Definitions;
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
export type { Faults } from './testing/faults.js';
export type { BindingInfo, ChannelInfo, ConnectionInfo, ConnectionSelector, ConsumerInfo, ExchangeInfo, Inspector, Peeked, PeekedMessage, QueueInfo, UnackedMessage } from './testing/inspect.js';
export { WaitTimeout, type QueueExpectation, type WaitOptions } from './testing/wait.js';
export { formatTrace, type TraceFilter, type TraceLine } from './testing/frame-trace.js';
