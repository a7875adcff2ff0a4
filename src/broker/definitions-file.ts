// The broker's definitions in RabbitMQ's definitions.json schema (what `rabbitmqctl
// export_definitions` and GET /api/definitions write), both ways: users with their salted SHA-256
// hashes, vhosts, permissions, policies, queues, exchanges and bindings. Import adds and updates in
// RabbitMQ's order and stops at the first entity it cannot take, naming it and why.
import type { FieldTable } from '../protocol/field-table.js';
import { REPLY_NAMES } from '../protocol/generated/spec.js';
import { compilePcre } from '../auth/pcre.js';
import type { Broker } from './broker.js';
import { isQueueType } from './arguments.js';
import { BrokerError } from './errors.js';
import type { Policy, PolicyTarget } from './policy.js';
import { NO_OUTPUT, type Session } from './session.js';
import { VHOST_LIMITS, type VhostLimit, type VirtualHost } from './virtual-host.js';
import { jsonToTable, tableToJson, type Json as Plain } from '../protocol/field-json.js';

type Obj = { [key: string]: Plain };

/** A definition that cannot be imported, named with the reason. */
export class DefinitionsError extends Error {}

/** Exchanges every vhost has, never exported. */
const isBuiltInExchange = (name: string) => name === '' || name.startsWith('amq.');

function vhostContents(v: VirtualHost, withVhost: boolean): { policies: Obj[]; queues: Obj[]; exchanges: Obj[]; bindings: Obj[] } {
  const tag = (o: Obj): Obj => (withVhost ? { name: o.name, vhost: v.name, ...o } : o);
  const policies = [...v.policies.values()].map((p) => ({ ...(withVhost ? { vhost: v.name } : {}), name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition as Obj, priority: p.priority }));
  const queues = [...v.queues.values()].filter((q) => q.options.owner === undefined).map((q) => tag({ name: q.name, durable: q.options.durable, auto_delete: q.options.autoDelete, arguments: tableToJson(q.options.args) }));
  const exchanges = [...v.exchanges.values()]
    .filter((e) => !isBuiltInExchange(e.name))
    .map((e) => tag({ name: e.name, type: e.type, durable: e.options.durable, auto_delete: e.options.autoDelete, internal: e.options.internal, arguments: tableToJson(e.options.args) }));
  const bindings: Obj[] = [];
  for (const e of v.exchanges.values()) {
    for (const b of e.bindings.values()) {
      const item: Obj = { source: e.name, destination: b.destination.name, destination_type: b.destination.kind, routing_key: b.routingKey, arguments: tableToJson(b.args) };
      bindings.push(withVhost ? { source: e.name, vhost: v.name, ...item } : item);
    }
  }
  return { policies, queues, exchanges, bindings };
}

/** Everything (or one vhost's part, without vhost fields), as RabbitMQ exports it. */
export function exportDefinitions(broker: Broker, version: string, vhost?: string): Obj {
  if (vhost !== undefined) {
    const v = broker.vhost(vhost);
    if (!v) throw new DefinitionsError(`no vhost '${vhost}'`);
    return { rabbit_version: version, parameters: limitParameters([v]), ...vhostContents(v, false) };
  }
  const contents = { policies: [] as Obj[], queues: [] as Obj[], exchanges: [] as Obj[], bindings: [] as Obj[] };
  for (const name of broker.vhostNames) {
    const part = vhostContents(broker.vhost(name)!, true);
    for (const key of ['policies', 'queues', 'exchanges', 'bindings'] as const) contents[key].push(...part[key]);
  }
  return {
    rabbit_version: version,
    rabbitmq_version: version,
    product_name: 'RabbitMQ',
    product_version: version,
    users: broker.users.list().map((u) => ({ name: u.name, password_hash: broker.users.passwordHash(u.name) ?? '', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [...u.tags], limits: {} })),
    // rabbit_mgmt_wm_definitions keeps only the name of a vhost (its metadata stays behind)
    vhosts: broker.vhostNames.map((name) => ({ name })),
    permissions: broker.permissions.list().map((p) => ({ user: p.user, vhost: p.vhost, configure: p.permissions.configure, write: p.permissions.write, read: p.permissions.read })),
    topic_permissions: broker.permissions.listTopic().map((t) => ({ user: t.user, vhost: t.vhost, exchange: t.exchange, write: t.write, read: t.read })),
    parameters: limitParameters(broker.vhostNames.map((n) => broker.vhost(n)!)),
    global_parameters: [],
    ...contents,
  };
}

export interface ImportOptions {
  /** Import into this vhost only (items carry no vhost field). */
  vhost?: string;
  /** Who imports (RabbitMQ's acting user; shown as the creator of exchanges). */
  user?: string;
}

const text = (v: Plain | undefined, fallback = '') => (v === undefined || v === null ? fallback : String(v));
const list = (defs: Obj, key: string): Obj[] => {
  const items = defs[key];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new DefinitionsError(`"${key}" must be a list`);
  return items.filter((i): i is Obj => i !== null && typeof i === 'object' && !Array.isArray(i));
};
const bool = (v: Plain | undefined) => v === true || v === 'true';

/** The vhosts' limits as RabbitMQ exports them: its vhost-limits runtime parameter. */
function limitParameters(vhosts: readonly VirtualHost[]): Obj[] {
  return vhosts.filter((v) => v.limits.size > 0).map((v) => ({ value: Object.fromEntries(v.limits), vhost: v.name, component: 'vhost-limits', name: 'limits' }));
}

/** A vhost's metadata as RabbitMQ shows it (an Erlang map: keys in order), default_queue_type when set. */
export function vhostMetadata(v: VirtualHost): { default_queue_type?: string; description: string; tags: string[] } {
  return { ...(v.defaultQueueType ? { default_queue_type: v.defaultQueueType } : {}), description: v.description, tags: [...v.tags] };
}

/**
 * Imports definitions as RabbitMQ's rabbit_definitions does: users, vhosts, permissions, topic permissions, policies,
 * queues, exchanges, bindings, each added or updated. Names starting with amq. are skipped, as
 * RabbitMQ skips them.
 */
export function importDefinitions(broker: Broker, defs: Obj, options: ImportOptions = {}): void {
  if (options.vhost === undefined) {
    for (const u of list(defs, 'users')) importUser(broker, u);
    for (const v of list(defs, 'vhosts')) {
      const metadata = (v.metadata ?? {}) as Obj;
      const description = v.description ?? metadata.description;
      const tags = v.tags ?? metadata.tags;
      const defaultQueueType = metadata.default_queue_type === undefined ? undefined : text(metadata.default_queue_type);
      if (defaultQueueType !== undefined && !isQueueType(defaultQueueType)) throw new DefinitionsError(`vhost "${text(v.name)}": invalid_queue_type ${defaultQueueType}`);
      broker.addVhost(text(v.name), { description: description === undefined ? undefined : text(description), tags: Array.isArray(tags) ? tags.map(String) : undefined, defaultQueueType });
    }
    for (const p of list(defs, 'permissions')) importPermissions(broker, p);
    for (const t of list(defs, 'topic_permissions')) importTopicPermission(broker, t);
  }
  const vhostOf = (item: Obj): VirtualHost => {
    const name = options.vhost ?? (item.vhost === undefined || item.vhost === null ? undefined : String(item.vhost));
    const v = name === undefined ? undefined : broker.vhost(name);
    if (!v) throw new DefinitionsError(name === undefined ? 'Virtual host does not exist and is not specified in definitions file.' : `Please create virtual host "${name}" prior to importing definitions.`);
    return v;
  };
  // of the runtime parameters, Warren has the vhost limits
  for (const p of list(defs, 'parameters')) {
    if (p.component !== 'vhost-limits') continue;
    const v = vhostOf(p);
    if (p.value === null || typeof p.value !== 'object' || Array.isArray(p.value)) throw new DefinitionsError(`vhost-limits of vhost '${v.name}': the value must be an object of limits, not ${JSON.stringify(p.value)}`);
    for (const [limit, value] of Object.entries(p.value as Obj)) {
      if (!(VHOST_LIMITS as readonly string[]).includes(limit) || typeof value !== 'number' || !Number.isInteger(value)) {
        throw new DefinitionsError(`vhost-limits of vhost '${v.name}': ${limit} = ${JSON.stringify(value)} is not a limit Warren knows with an integer value`);
      }
      broker.setVhostLimit(v, limit as VhostLimit, value);
    }
  }
  for (const p of list(defs, 'policies')) {
    const v = vhostOf(p);
    const policy = policyOf(p);
    try {
      v.setPolicy(policy);
    } catch (err) {
      throw new DefinitionsError(`policy '${policy.name}' in vhost '${v.name}': ${(err as Error).message.trim()}`);
    }
  }
  const sessions = new Map<VirtualHost, Session>();
  const session = (v: VirtualHost) => {
    let s = sessions.get(v);
    if (!s) sessions.set(v, (s = broker.openSession(v, undefined, {}, NO_OUTPUT)));
    return s;
  };
  try {
    for (const q of list(defs, 'queues')) {
      const name = text(q.name);
      if (name.startsWith('amq.')) continue;
      const v = vhostOf(q);
      declare(() => session(v).declareQueue({ name, passive: false, durable: bool(q.durable), exclusive: false, autoDelete: bool(q.auto_delete), args: argsOf(q) }), `queue '${name}' in vhost '${v.name}'`);
    }
    for (const e of list(defs, 'exchanges')) {
      const name = text(e.name);
      if (isBuiltInExchange(name)) continue;
      const v = vhostOf(e);
      declare(
        () => session(v).declareExchange({ name, user: options.user, type: text(e.type, 'direct'), passive: false, durable: bool(e.durable), autoDelete: bool(e.auto_delete), internal: bool(e.internal), args: argsOf(e) }),
        `exchange '${name}' in vhost '${v.name}'`,
      );
    }
    for (const b of list(defs, 'bindings')) {
      const v = vhostOf(b);
      const source = text(b.source);
      const destination = text(b.destination);
      const what = `binding from exchange '${source}' to ${text(b.destination_type, 'queue')} '${destination}' in vhost '${v.name}'`;
      if (b.destination_type === 'exchange') declare(() => session(v).bindExchange(true, destination, source, text(b.routing_key), argsOf(b)), what);
      else declare(() => session(v).bindQueue(true, destination, source, text(b.routing_key), argsOf(b)), what);
    }
  } finally {
    for (const s of sessions.values()) s.release();
  }
}

/** Runs a declaration, its refusal as RabbitMQ's import reports it ("name: explanation"). */
function declare(run: () => void, what: string): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof BrokerError)) throw err;
    const name = (REPLY_NAMES[err.code] ?? String(err.code)).toLowerCase();
    throw new DefinitionsError(`${what}: ${name}: ${err.detail}`);
  }
}

function argsOf(item: Obj): FieldTable {
  const args = item.arguments;
  if (args === undefined || args === null || (Array.isArray(args) && args.length === 0)) return {};
  if (typeof args !== 'object' || Array.isArray(args)) throw new DefinitionsError(`arguments of '${text(item.name ?? item.source)}' must be an object`);
  return jsonToTable(args);
}

/** RabbitMQ's user tags: a list, or a comma-separated string. */
export function parseTags(v: Plain): string[] {
  const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
  return list.map((t) => t.trim()).filter((t) => t !== '');
}

function importUser(broker: Broker, u: Obj): void {
  const name = text(u.name);
  if (name === '') throw new DefinitionsError('a user without a name');
  const tags = parseTags(u.tags ?? '');
  const algorithm = text(u.hashing_algorithm, 'rabbit_password_hashing_sha256');
  if (typeof u.password === 'string') broker.users.add(name, u.password, tags);
  else {
    if (algorithm !== 'rabbit_password_hashing_sha256') throw new DefinitionsError(`user '${name}': hashing algorithm ${algorithm} is not supported (only rabbit_password_hashing_sha256)`);
    if (broker.users.addHashed(name, text(u.password_hash), tags) === undefined) throw new DefinitionsError(`user '${name}': password_hash is not a base64 salted SHA-256 hash`);
  }
}

/** The user and vhost of a permissions entry, which must exist, and a check of its patterns. */
function permissionsEntry(broker: Broker, p: Obj, what: string): { user: string; vhost: string; checkPatterns(patterns: string[]): void } {
  const user = text(p.user);
  const vhost = text(p.vhost);
  const subject = `${what} of user '${user}' in vhost '${vhost}'`;
  if (broker.users.get(user) === undefined) throw new DefinitionsError(`${subject}: no such user`);
  if (broker.vhost(vhost) === undefined) throw new DefinitionsError(`Please create virtual host "${vhost}" prior to importing definitions.`);
  const checkPatterns = (patterns: string[]) => {
    for (const pattern of patterns) {
      const compiled = compilePcre(pattern);
      if ('error' in compiled) throw new DefinitionsError(`${subject}: invalid regular expression '${pattern}': ${compiled.error}`);
    }
  };
  return { user, vhost, checkPatterns };
}

function importPermissions(broker: Broker, p: Obj): void {
  const { user, vhost, checkPatterns } = permissionsEntry(broker, p, 'permissions');
  const set = { configure: text(p.configure), write: text(p.write), read: text(p.read) };
  checkPatterns(Object.values(set));
  broker.permissions.set(user, vhost, set);
}

function importTopicPermission(broker: Broker, t: Obj): void {
  const { user, vhost, checkPatterns } = permissionsEntry(broker, t, `topic permissions on exchange '${text(t.exchange)}'`);
  const permission = { user, vhost, exchange: text(t.exchange), write: text(t.write), read: text(t.read) };
  checkPatterns([permission.write, permission.read]);
  broker.permissions.setTopic(permission);
}

function policyOf(p: Obj): Policy {
  const name = text(p.name);
  const definition = p.definition;
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw new DefinitionsError(`policy '${name}': definition must be an object`);
  const applyTo = text(p['apply-to'], 'all');
  if (!['all', 'queues', 'exchanges'].includes(applyTo)) throw new DefinitionsError(`policy '${name}': '${applyTo}' is not a valid apply-to value`);
  return { name, pattern: text(p.pattern), applyTo: applyTo as PolicyTarget, priority: Number(p.priority ?? 0), definition: definition as Policy['definition'] };
}
