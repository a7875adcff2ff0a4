// The TCP listener: accepts sockets and hands each to a Connection.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { platform } from 'node:os';
import type { Logger } from './logger.js';
import { Broker } from '../broker/broker.js';
import type { MessageStore } from '../broker/store.js';
import { ResourceMonitor, type Alarm } from './alarms.js';
import { UserStore } from '../auth/users.js';
import { PermissionStore, type PermissionSet } from '../auth/permissions.js';
import { toFieldTable, type FieldTable } from '../protocol/field-table.js';
import { defaultConfig, WARREN_VERSION, type ServerConfig } from './config.js';
import { Connection, type ConnectionContext } from './connection.js';

export interface ServerOptions {
  logger: Logger;
  config?: Partial<ServerConfig>;
  /** The data directory the broker's store uses: the disk alarm watches its free space. */
  dataDir?: string;
  broker?: Broker;
  users?: UserStore;
  permissions?: PermissionStore;
}

/** connection.start's server-properties: RabbitMQ's keys, with Warren named in platform and information. */
function serverProperties(config: ServerConfig): FieldTable {
  return toFieldTable({
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: config.clusterName,
    copyright: 'Copyright (c) 2007-2022 VMware, Inc. or its affiliates.',
    information: `Warren ${WARREN_VERSION}, an AMQP 0-9-1 broker for Node.js following RabbitMQ ${config.rabbitmqVersion}`,
    platform: `Node.js ${process.version} (${platform()}) / Warren ${WARREN_VERSION}`,
    product: config.product,
    version: config.rabbitmqVersion,
  });
}

export class Server implements ConnectionContext {
  readonly broker: Broker;
  readonly users: UserStore;
  readonly permissions: PermissionStore;
  readonly config: ServerConfig;
  /** Replaceable: the CLI listens first and plugs pino in afterwards. */
  logger: Logger;
  readonly serverProperties: FieldTable;
  readonly connections = new Set<Connection>();
  /** Memory and disk alarms; `alarms.force()` raises one by hand. */
  readonly alarms: ResourceMonitor;
  private readonly net: NetServer;
  /** One timer for every connection's consumer timeout, as RabbitMQ checks it periodically. */
  private readonly ackTimer: NodeJS.Timeout;

  constructor(options: ServerOptions) {
    this.logger = options.logger;
    this.config = { ...defaultConfig(), ...options.config };
    this.broker = options.broker ?? new Broker();
    const auth = durableAuth(this.broker.store);
    this.users = options.users ?? auth.users;
    this.permissions = options.permissions ?? auth.permissions;
    this.serverProperties = serverProperties(this.config);
    this.net = createServer({ noDelay: true }, (socket: Socket) => this.connections.add(new Connection(this, socket)));
    this.net.on('error', (err) => this.logger.error({ err }, 'listener error'));
    const every = Math.min(60000, Math.max(100, this.config.consumerTimeoutMs / 10));
    this.ackTimer = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) if (c.isRunning) c.checkAckTimeouts(now);
    }, every);
    this.ackTimer.unref();
    this.alarms = new ResourceMonitor(this.config, options.dataDir, (active) => {
      if (active.size > 0) this.logger.warn({ alarms: [...active] }, 'resource alarm: publishers are blocked');
      else this.logger.info('resource alarms cleared: publishers resume');
      for (const c of this.connections) c.alarmsChanged(active);
    });
  }

  /** The alarms in force now, for a connection that has just opened. */
  get activeAlarms(): ReadonlySet<Alarm> {
    return this.alarms.active;
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(port, host, () => {
        this.net.off('error', reject);
        const addr = this.net.address();
        if (addr === null || typeof addr === 'string') return reject(new Error('listener has no TCP address'));
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** Stops accepting, closes every connection with 320 CONNECTION_FORCED, and waits for the sockets to go. */
  async close(): Promise<void> {
    clearInterval(this.ackTimer);
    this.alarms.stop();
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const c of this.connections) {
      if (c.isRunning) c.close(320, 'CONNECTION_FORCED - broker forced connection closure with reason \'shutdown\'');
      else c.destroy();
    }
    const deadline = setTimeout(() => {
      for (const c of this.connections) c.destroy();
    }, 1000);
    const sockets = [...this.connections].map(
      (c) => new Promise<void>((resolve) => (c.socket.destroyed ? resolve() : c.socket.once('close', () => resolve()))),
    );
    await Promise.all(sockets);
    clearTimeout(deadline);
    await closed;
    this.broker.close();
  }
}

/**
 * Users and their permissions, kept in the store when there is one. A broker without users starts with
 * guest/guest, allowed everything in '/', as RabbitMQ does.
 */
function durableAuth(store: MessageStore | undefined): { users: UserStore; permissions: PermissionStore } {
  const users = new UserStore(
    store && {
      saved: (u) => store.putDefinition({ kind: 'user', vhost: '', key: u.name, value: { tags: [...u.tags], salt: u.salt.toString('base64'), hash: u.hash.toString('base64') } }),
      deleted: (name) => store.deleteDefinition('user', '', name),
    },
  );
  const permissions = new PermissionStore(
    store && {
      saved: (user, vhost, p) => store.putDefinition({ kind: 'permission', vhost, key: user, value: { configure: p.configure, write: p.write, read: p.read } }),
      deleted: (user, vhost) => store.deleteDefinition('permission', vhost, user),
    },
  );
  for (const d of store?.definitions ?? []) {
    if (d.kind === 'user') {
      const v = d.value as { tags: string[]; salt: string; hash: string };
      users.restore({ name: d.key, tags: v.tags, salt: Buffer.from(v.salt, 'base64'), hash: Buffer.from(v.hash, 'base64') });
    } else if (d.kind === 'permission') {
      permissions.restore(d.key, d.vhost, d.value as unknown as PermissionSet);
    }
  }
  if (users.size === 0) {
    users.add('guest', 'guest', ['administrator']);
    permissions.set('guest', '/', { configure: '.*', write: '.*', read: '.*' });
  }
  return { users, permissions };
}
