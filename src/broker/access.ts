// What the broker asks before a client touches a resource, answered from a user's permissions in a
// vhost, with RabbitMQ's refusal.
import type { PermissionKind, PermissionStore } from '../auth/permissions.js';
import { accessRefused } from './errors.js';

export interface Access {
  /** Throws RabbitMQ's 403 when the user lacks `permission` on the exchange or queue. */
  check(kind: 'exchange' | 'queue', name: string, permission: PermissionKind): void;
  /** Throws RabbitMQ's 403 when the user's topic permission on a topic exchange refuses the routing key. */
  checkTopic(exchange: string, routingKey: string, permission: 'write' | 'read'): void;
  /** The user is tagged impersonator: its messages may carry another user's user_id. */
  readonly mayImpersonate: boolean;
}

/** Everything allowed: for the broker's own operations (definitions import, tests). */
export const unrestricted: Access = { check: () => {}, checkTopic: () => {}, mayImpersonate: true };

/** A user's permissions in one vhost, read at each check (so changes apply at once). */
export function userAccess(permissions: PermissionStore, user: string, vhost: string, mayImpersonate: boolean): Access {
  return {
    mayImpersonate,
    check(kind, name, permission) {
      // the default exchange is amq.default to permissions
      const resource = kind === 'exchange' && name === '' ? 'amq.default' : name;
      if (!permissions.allows(user, vhost, permission, resource)) {
        throw accessRefused(`access to ${kind} '${resource}' in vhost '${vhost}' refused for user '${user}'`);
      }
    },
    checkTopic(exchange, routingKey, permission) {
      if (!permissions.allowsTopic(user, vhost, exchange, permission, routingKey)) {
        throw accessRefused(`access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${user}'`);
      }
    },
  };
}
