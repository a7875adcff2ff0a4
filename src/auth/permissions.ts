// Users' permissions per vhost, as RabbitMQ's: configure, write and read regular expressions matched
// against resource names (an empty one grants nothing; the default exchange is named amq.default), and
// topic permissions: write and read expressions per topic exchange, matched against routing keys.
import { compilePcre } from './pcre.js';

export type PermissionKind = 'configure' | 'write' | 'read';

export interface PermissionSet {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface TopicPermissionSet {
  readonly write: string;
  readonly read: string;
}

export interface TopicPermission extends TopicPermissionSet {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
}

/** Told of every change, to keep permissions durable. */
export interface PermissionListener {
  saved(user: string, vhost: string, permissions: PermissionSet): void;
  deleted(user: string, vhost: string): void;
  topicSaved(permission: TopicPermission): void;
  topicDeleted(user: string, vhost: string, exchange: string): void;
}

interface Compiled {
  readonly set: PermissionSet;
  readonly patterns: Readonly<Record<PermissionKind, RegExp | undefined>>;
}

const key = (user: string, vhost: string) => `${user}\u0000${vhost}`;

/** Orders by the first part that differs. */
function compareParts(a: readonly string[], b: readonly string[]): number {
  const i = a.findIndex((part, n) => part !== b[n]);
  return i < 0 ? 0 : a[i] < b[i] ? -1 : 1;
}

/** A permission pattern as RabbitMQ reads it (PCRE); an empty one grants nothing. */
function compile(pattern: string): RegExp | undefined {
  if (pattern === '') return undefined;
  const compiled = compilePcre(pattern);
  if ('error' in compiled) throw new Error(`invalid permission pattern '${pattern}': ${compiled.error} at ${compiled.offset}`);
  return compiled.regex;
}

interface CompiledTopic {
  readonly permission: TopicPermission;
  readonly patterns: Readonly<Record<'write' | 'read', RegExp | undefined>>;
}

/**
 * A topic pattern as RabbitMQ applies it: empty means only the empty routing key, and {username} and
 * {vhost} stand for the connection's user and vhost (fixed per entry, so expanded once here). An
 * expansion that no longer compiles (a user name with a '(' in it) matches nothing.
 */
function compileTopic(pattern: string, user: string, vhost: string): RegExp | undefined {
  const expanded = (pattern === '' ? '^$' : pattern).replaceAll('{username}', user).replaceAll('{vhost}', vhost);
  const compiled = compilePcre(expanded);
  return 'error' in compiled ? undefined : compiled.regex;
}

export class PermissionStore {
  private readonly entries = new Map<string, Compiled>();
  /** By user and vhost, then by exchange. */
  private readonly topics = new Map<string, Map<string, CompiledTopic>>();

  constructor(private readonly listener?: PermissionListener) {}

  set(user: string, vhost: string, permissions: PermissionSet): void {
    this.restore(user, vhost, permissions);
    this.listener?.saved(user, vhost, permissions);
  }

  /** Brings back permissions kept from before a restart. */
  restore(user: string, vhost: string, permissions: PermissionSet): void {
    this.entries.set(key(user, vhost), {
      set: permissions,
      patterns: { configure: compile(permissions.configure), write: compile(permissions.write), read: compile(permissions.read) },
    });
  }

  clear(user: string, vhost: string): void {
    if (this.entries.delete(key(user, vhost))) this.listener?.deleted(user, vhost);
  }

  /** A deleted user's permissions (topic ones too) go with it. */
  clearUser(user: string): void {
    this.clearWhere((u) => u === user);
  }

  /** A deleted vhost's permissions (topic ones too) go with it. */
  clearVhost(vhost: string): void {
    this.clearWhere((_, v) => v === vhost);
  }

  private clearWhere(test: (user: string, vhost: string) => boolean): void {
    for (const k of new Set([...this.entries.keys(), ...this.topics.keys()])) {
      const [user, vhost] = k.split('\u0000');
      if (!test(user, vhost)) continue;
      this.clear(user, vhost);
      this.clearTopic(user, vhost);
    }
  }

  setTopic(permission: TopicPermission): void {
    this.restoreTopic(permission);
    this.listener?.topicSaved(permission);
  }

  /** Brings back a topic permission kept from before a restart. */
  restoreTopic(permission: TopicPermission): void {
    const { user, vhost } = permission;
    const k = key(user, vhost);
    let byExchange = this.topics.get(k);
    if (!byExchange) this.topics.set(k, (byExchange = new Map()));
    const patterns = { write: compileTopic(permission.write, user, vhost), read: compileTopic(permission.read, user, vhost) };
    byExchange.set(permission.exchange, { permission, patterns });
  }

  /** Clears the user's topic permission on one exchange of the vhost, or on all of them. */
  clearTopic(user: string, vhost: string, exchange?: string): void {
    const k = key(user, vhost);
    const byExchange = this.topics.get(k);
    if (!byExchange) return;
    for (const name of exchange === undefined ? [...byExchange.keys()] : [exchange]) {
      if (byExchange.delete(name)) this.listener?.topicDeleted(user, vhost, name);
    }
    if (byExchange.size === 0) this.topics.delete(k);
  }

  /** Every topic permission, by vhost, user and exchange. */
  listTopic(): TopicPermission[] {
    return [...this.topics.values()]
      .flatMap((byExchange) => [...byExchange.values()].map((t) => t.permission))
      .sort((a, b) => compareParts([a.vhost, a.user, a.exchange], [b.vhost, b.user, b.exchange]));
  }

  /**
   * Whether the user may write (publish) or read (bind) `routingKey` on the topic exchange: true when
   * the user has no topic permission for that exchange, as RabbitMQ's internal backend answers.
   */
  allowsTopic(user: string, vhost: string, exchange: string, kind: 'write' | 'read', routingKey: string): boolean {
    if (this.topics.size === 0) return true;
    const entry = this.topics.get(key(user, vhost))?.get(exchange);
    if (!entry) return true;
    const pattern = entry.patterns[kind];
    return pattern !== undefined && pattern.test(routingKey);
  }

  /** Every user's permissions, by vhost then user. */
  list(): { user: string; vhost: string; permissions: PermissionSet }[] {
    return [...this.entries.entries()]
      .map(([k, c]) => {
        const [user, vhost] = k.split('\u0000');
        return { user, vhost, permissions: c.set };
      })
      .sort((a, b) => compareParts([a.vhost, a.user], [b.vhost, b.user]));
  }

  get(user: string, vhost: string): PermissionSet | undefined {
    return this.entries.get(key(user, vhost))?.set;
  }

  /** Whether the user may use the vhost at all (any permissions there). */
  hasVhostAccess(user: string, vhost: string): boolean {
    return this.entries.has(key(user, vhost));
  }

  allows(user: string, vhost: string, kind: PermissionKind, resource: string): boolean {
    const pattern = this.entries.get(key(user, vhost))?.patterns[kind];
    return pattern !== undefined && pattern.test(resource);
  }
}
