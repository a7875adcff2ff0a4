// The broker: virtual hosts and everything in them, users and their permissions, resource alarms and
// the clock. No sockets, no frames: the AMQP server and the HTTP API both drive it through Sessions.
import { PermissionStore, type PermissionSet, type TopicPermission } from '../auth/permissions.js';
import { UserStore } from '../auth/users.js';
import { unrestricted, userAccess, type Access } from './access.js';
import { DEFAULT_ALARM_LIMITS, ResourceMonitor, type Alarm, type AlarmLimits } from './alarms.js';
import { isQueueType, type QueueType } from './arguments.js';
import { realClock, type Clock } from './clock.js';
import { nullLogger, type Logger } from './logger.js';
import type { ClientConnection } from './clients.js';
import { ChurnCounters, MessageCounters } from './observation.js';
import { Session, type SessionOutput } from './session.js';
import type { DefinitionKind, MessageStore, Pager } from './store.js';
import { VirtualHost, type VhostContext, type VhostLimit } from './virtual-host.js';

/** Recovery order: what a definition refers to comes back before it. */
const RECOVERY_ORDER: readonly DefinitionKind[] = ['vhost', 'policy', 'exchange', 'queue', 'binding'];

export interface BrokerOptions {
  /** Durable definitions and persistent messages come back from it and go to it; in memory only without. */
  store?: MessageStore;
  /** Without a store: where queues page out what does not fit in memory (kept in memory otherwise). */
  pager?: Pager;
  /** Where time comes from (the machine's clock by default). */
  clock?: Clock;
  logger?: Logger;
  limits?: Partial<AlarmLimits>;
  /** The data directory whose free space the disk alarm watches. */
  dataDir?: string;
  /** The node's name (RabbitMQ's rabbit@host), as trace copies carry it. */
  nodeName?: string;
  /** The user and vhost a fresh broker starts with (RabbitMQ's default_user, default_vhost…): guest in '/'. */
  defaults?: Partial<BrokerDefaults>;
}

export interface BrokerDefaults {
  user: string;
  password: string;
  tags: readonly string[];
  vhost: string;
  permissions: PermissionSet;
}

const GUEST: BrokerDefaults = { user: 'guest', password: 'guest', tags: ['administrator'], vhost: '/', permissions: { configure: '.*', write: '.*', read: '.*' } };

export class Broker implements VhostContext {
  readonly store: MessageStore | undefined;
  readonly pager: Pager | undefined;
  readonly clock: Clock;
  readonly nodeName: string;
  readonly defaults: BrokerDefaults;
  readonly logger: Logger;
  readonly users: UserStore;
  readonly permissions: PermissionStore;
  /** Memory and disk alarms; `alarms.force()` raises one by hand. */
  readonly alarms: ResourceMonitor;
  /** Client connections that have completed their handshake. */
  readonly connections = new Set<ClientConnection>();
  readonly churn = new ChurnCounters();
  /** When the broker started (ms since the epoch, by its clock). */
  readonly startedAt: number;
  private readonly vhosts = new Map<string, VirtualHost>();
  private readonly watchers = new Set<() => void>();

  constructor(options: BrokerOptions = {}) {
    this.store = options.store;
    this.pager = options.store ?? options.pager;
    this.nodeName = options.nodeName ?? 'warren';
    this.defaults = { ...GUEST, ...options.defaults };
    this.clock = options.clock ?? realClock;
    this.logger = options.logger ?? nullLogger;
    this.startedAt = this.clock.now();
    this.alarms = new ResourceMonitor({ ...DEFAULT_ALARM_LIMITS, ...options.limits }, options.dataDir, this.clock, this.logger);
    const store = this.store;
    ({ users: this.users, permissions: this.permissions } = durableAuth(store, this.defaults));
    if (store) {
      this.recover(store);
      store.listen({
        written: (bytes) => this.alarms.written(bytes),
        // a failed write or fsync blocks publishers (the disk alarm) until the disk takes writes again
        failed: (fault) => {
          if (fault.op === 'write' || fault.op === 'fsync') this.alarms.writeFailure();
        },
      });
      // logs that failed try again once there is room
      this.alarms.onChange((active) => {
        if (!active.has('disk')) store.retryFailed();
      });
    }
    // a fresh broker (nothing recovered) gets the default vhost
    if (this.vhosts.size === 0) this.addVhost(this.defaults.vhost);
  }

  private recover(store: MessageStore): void {
    const definitions = store.definitions;
    for (const kind of RECOVERY_ORDER) {
      for (const d of definitions) {
        if (d.kind !== kind) continue;
        const vhost = this.vhosts.get(d.vhost) ?? this.createVhost(d.vhost);
        if (kind === 'vhost') {
          vhost.description = typeof d.value.description === 'string' ? d.value.description : vhost.description;
          vhost.tags = Array.isArray(d.value.tags) ? d.value.tags.map(String) : vhost.tags;
          if (isQueueType(d.value.defaultQueueType)) vhost.defaultQueueType = d.value.defaultQueueType;
          for (const [limit, value] of Object.entries((d.value.limits ?? {}) as Record<string, number>)) vhost.limits.set(limit as VhostLimit, value);
        } else vhost.restore(d);
      }
    }
    store.dropUnopenedLogs();
  }

  /**
   * A vhost, made if it does not exist; its description and tags are set when given, its default queue
   * type only when it is made (RabbitMQ's update leaves it).
   */
  addVhost(name: string, metadata: { description?: string; tags?: readonly string[]; defaultQueueType?: QueueType } = {}): VirtualHost {
    const existing = this.vhosts.get(name);
    const vhost = existing ?? this.createVhost(name);
    if (metadata.description !== undefined) vhost.description = metadata.description;
    if (metadata.tags !== undefined) vhost.tags = metadata.tags;
    if (!existing) vhost.defaultQueueType = metadata.defaultQueueType;
    this.saveVhost(vhost);
    return vhost;
  }

  /** Sets one of a vhost's limits (a negative value: no limit), or clears it with undefined. */
  setVhostLimit(vhost: VirtualHost, limit: VhostLimit, value: number | undefined): void {
    if (value === undefined) vhost.limits.delete(limit);
    else vhost.limits.set(limit, value);
    this.saveVhost(vhost);
  }

  private saveVhost(vhost: VirtualHost): void {
    const value = {
      description: vhost.description,
      tags: [...vhost.tags],
      ...(vhost.defaultQueueType ? { defaultQueueType: vhost.defaultQueueType } : {}),
      ...(vhost.limits.size ? { limits: Object.fromEntries(vhost.limits) } : {}),
    };
    this.store?.putDefinition({ kind: 'vhost', vhost: vhost.name, key: vhost.name, value });
  }

  private createVhost(name: string): VirtualHost {
    const vhost = new VirtualHost(name, this, name === '/' ? 'Default virtual host' : '');
    this.vhosts.set(name, vhost);
    return vhost;
  }

  /**
   * Deletes a vhost and everything in it, as RabbitMQ does: its connections are closed (320), its
   * queues, exchanges, policies and permissions go. False when there is no such vhost.
   */
  deleteVhost(name: string): boolean {
    const vhost = this.vhosts.get(name);
    if (!vhost) return false;
    for (const c of [...this.connections]) if (c.vhost === name) c.close(320, `CONNECTION_FORCED - vhost '${name}' is deleted`);
    vhost.destroy();
    this.permissions.clearVhost(name);
    this.store?.deleteDefinition('vhost', name, name);
    this.vhosts.delete(name);
    return true;
  }

  /**
   * Back to a fresh broker: the default vhost with nothing declared in it, and the default user alone.
   * Connections are closed as a restart closes them (320), or kept: then the vhosts they use are
   * emptied in place (their consumers hear basic.cancel as their queues go) rather than deleted.
   */
  reset(connections: 'close' | 'keep' = 'close'): void {
    if (connections === 'close') for (const c of [...this.connections]) c.close(320, SHUTDOWN_TEXT);
    const inUse = new Set([...this.connections].map((c) => c.vhost));
    for (const name of this.vhostNames) {
      if (connections === 'keep' && inUse.has(name)) this.vhosts.get(name)!.destroy();
      else this.deleteVhost(name);
    }
    for (const u of this.users.list()) {
      this.users.delete(u.name);
      this.permissions.clearUser(u.name);
    }
    this.addVhost(this.defaults.vhost);
    addDefaultUser(this.users, this.permissions, this.defaults);
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  get vhostNames(): string[] {
    return [...this.vhosts.keys()];
  }

  /** Message counters over every vhost (the node's totals). */
  get counters(): MessageCounters {
    const total = new MessageCounters();
    for (const v of this.vhosts.values()) total.add(v.counters);
    return total;
  }

  /** The active alarms, for a connection that has just opened. */
  get activeAlarms(): ReadonlySet<Alarm> {
    return this.alarms.active;
  }

  /** What `user` may do in `vhost`, checked as RabbitMQ checks it; undefined `user` allows everything. */
  access(user: string | undefined, vhost: string): Access {
    return user === undefined ? unrestricted : userAccess(this.permissions, user, vhost, this.users.get(user)?.tags.includes('impersonator') ?? false);
  }

  /**
   * A client's session in a vhost: the broker side of an AMQP channel (or of an HTTP request).
   * `owner` is the connection, for exclusive queues.
   */
  openSession(vhost: VirtualHost, user: string | undefined, owner: object, output: SessionOutput): Session {
    return new Session(vhost, user ?? '', this.access(user, vhost.name), owner, output);
  }

  /**
   * Hands buffered store writes to the OS (before replies go out, so an acked message stays acked).
   * Connections call it after each batch of work, so it also tells those watching for changes.
   */
  writePending(): void {
    this.store?.writePending();
    if (this.watchers.size > 0) for (const w of this.watchers) w();
  }

  /** Calls `fn` after each batch of client work until the returned function is called. */
  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  close(): void {
    this.alarms.stop();
    this.pager?.close();
  }
}

/** What RabbitMQ tells its clients as it stops. */
export const SHUTDOWN_TEXT = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'";

const topicKey = (user: string, exchange: string) => `${user}\u0000${exchange}`;

/**
 * Users and their permissions, kept in the store when there is one. A broker without users starts with
 * the default user (guest/guest), allowed everything in the default vhost, as RabbitMQ does.
 */
function durableAuth(store: MessageStore | undefined, defaults: BrokerDefaults): { users: UserStore; permissions: PermissionStore } {
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
      topicSaved: (t) => store.putDefinition({ kind: 'topic-permission', vhost: t.vhost, key: topicKey(t.user, t.exchange), value: { ...t } }),
      topicDeleted: (user, vhost, exchange) => store.deleteDefinition('topic-permission', vhost, topicKey(user, exchange)),
    },
  );
  for (const d of store?.definitions ?? []) {
    if (d.kind === 'user') {
      const v = d.value as { tags: string[]; salt: string; hash: string };
      users.restore({ name: d.key, tags: v.tags, salt: Buffer.from(v.salt, 'base64'), hash: Buffer.from(v.hash, 'base64') });
    } else if (d.kind === 'permission') {
      permissions.restore(d.key, d.vhost, d.value as unknown as PermissionSet);
    } else if (d.kind === 'topic-permission') {
      permissions.restoreTopic(d.value as unknown as TopicPermission);
    }
  }
  if (users.size === 0) addDefaultUser(users, permissions, defaults);
  return { users, permissions };
}

function addDefaultUser(users: UserStore, permissions: PermissionStore, d: BrokerDefaults): void {
  users.add(d.user, d.password, d.tags);
  permissions.set(d.user, d.vhost, d.permissions);
}
