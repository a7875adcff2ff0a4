// Users' permissions per vhost, as RabbitMQ's: configure, write and read regular expressions matched
// against resource names (an empty one grants nothing; the default exchange is named amq.default).
import { compilePcre } from './pcre.js';

export type PermissionKind = 'configure' | 'write' | 'read';

export interface PermissionSet {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** Told of every change, to keep permissions durable. */
export interface PermissionListener {
  saved(user: string, vhost: string, permissions: PermissionSet): void;
  deleted(user: string, vhost: string): void;
}

interface Compiled {
  readonly set: PermissionSet;
  readonly patterns: Readonly<Record<PermissionKind, RegExp | undefined>>;
}

const key = (user: string, vhost: string) => `${user}\u0000${vhost}`;

/** A permission pattern as RabbitMQ reads it (PCRE); an empty one grants nothing. */
function compile(pattern: string): RegExp | undefined {
  if (pattern === '') return undefined;
  const compiled = compilePcre(pattern);
  if ('error' in compiled) throw new Error(`invalid permission pattern '${pattern}': ${compiled.error} at ${compiled.offset}`);
  return compiled.regex;
}

export class PermissionStore {
  private readonly entries = new Map<string, Compiled>();

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

  /** A deleted user's permissions go with it. */
  clearUser(user: string): void {
    this.clearWhere((u) => u === user);
  }

  /** A deleted vhost's permissions go with it. */
  clearVhost(vhost: string): void {
    this.clearWhere((_, v) => v === vhost);
  }

  private clearWhere(test: (user: string, vhost: string) => boolean): void {
    for (const k of [...this.entries.keys()]) {
      const [user, vhost] = k.split('\u0000');
      if (test(user, vhost)) this.clear(user, vhost);
    }
  }

  /** Every user's permissions, by vhost then user. */
  list(): { user: string; vhost: string; permissions: PermissionSet }[] {
    return [...this.entries.entries()]
      .map(([k, c]) => {
        const [user, vhost] = k.split('\u0000');
        return { user, vhost, permissions: c.set };
      })
      .sort((a, b) => (a.vhost === b.vhost ? (a.user < b.user ? -1 : 1) : a.vhost < b.vhost ? -1 : 1));
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
