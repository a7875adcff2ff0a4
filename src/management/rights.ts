// Who may see and do what over the management API, as RabbitMQ's rabbit_mgmt_util decides it from a
// user's tags and permissions.
import type { Broker } from '../broker/broker.js';
import type { User } from '../auth/users.js';

const has = (user: User, tags: readonly string[]) => user.tags.some((t) => tags.includes(t));

export const isManagementUser = (user: User) => has(user, ['administrator', 'monitoring', 'policymaker', 'management']);
export const isAdmin = (user: User) => has(user, ['administrator']);
export const isMonitor = (user: User) => has(user, ['administrator', 'monitoring']);
export const isPolicymaker = (user: User) => has(user, ['administrator', 'policymaker']);

/** The vhosts the user may log in to (has permissions in). */
export function loginVhosts(broker: Broker, user: User): string[] {
  return broker.vhostNames.filter((v) => broker.permissions.hasVhostAccess(user.name, v));
}

/** The vhosts the user may see: all of them for monitoring users, else those it may log in to. */
export function visibleVhosts(broker: Broker, user: User): string[] {
  return isMonitor(user) ? broker.vhostNames : loginVhosts(broker, user);
}

/** The vhosts whose contents lists show the user: every visible one for administrators, else the login ones. */
export function listedVhosts(broker: Broker, user: User): string[] {
  return isAdmin(user) ? visibleVhosts(broker, user) : loginVhosts(broker, user);
}

/**
 * What a route demands, by RabbitMQ's is_authorized_* names: any management user, administrators,
 * monitoring users, access to the path's vhost (or seeing it), or policymaking there.
 */
export type Rights = 'any' | 'admin' | 'monitor' | 'vhost' | 'vhost-visible' | 'policies' | 'global-parameters';

/**
 * RabbitMQ's refusal of `rights` to a management user, or undefined when allowed. A vhost named in
 * the path that does not exist passes (the route then answers 404).
 */
export function refusal(broker: Broker, user: User, rights: Rights, vhost: string | undefined): string | undefined {
  const inVhost = (list: (b: Broker, u: User) => string[]) => vhost === undefined || broker.vhost(vhost) === undefined || list(broker, user).includes(vhost);
  switch (rights) {
    case 'any':
      return undefined;
    case 'admin':
      return isAdmin(user) ? undefined : 'Not administrator user';
    case 'monitor':
      return isMonitor(user) ? undefined : 'Not monitor user';
    case 'vhost':
      return isAdmin(user) || inVhost(loginVhosts) ? undefined : 'User not authorised to access virtual host';
    case 'vhost-visible':
      return isAdmin(user) || inVhost(visibleVhosts) ? undefined : 'User not authorised to access virtual host';
    case 'policies':
      return isAdmin(user) || (isPolicymaker(user) && inVhost(loginVhosts)) ? undefined : 'User not authorised to access object';
    case 'global-parameters':
      return isPolicymaker(user) ? undefined : 'User not authorised to access object';
  }
}
