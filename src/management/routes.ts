// The management API's routes, by RabbitMQ 3.10's dispatcher table: the node and its health, users,
// vhosts, permissions and policies here; queues, exchanges, bindings and clients in entity-routes.ts;
// definitions in definition-routes.ts. Each route names the rights RabbitMQ's resource module asks for.
import { randomBytes } from 'node:crypto';
import { compilePcre } from '../auth/pcre.js';
import type { TopicPermission } from '../auth/permissions.js';
import type { User } from '../auth/users.js';
import { isQueueType } from '../broker/arguments.js';
import { parseTags } from '../broker/definitions-file.js';
import { contentHeaderOf } from '../broker/message.js';
import type { Policy, PolicyTarget } from '../broker/policy.js';
import { PublishOutcome } from '../broker/publishing.js';
import type { Session } from '../broker/session.js';
import { VHOST_LIMITS, type VhostLimit, type VirtualHost } from '../broker/virtual-host.js';
import { registerDefinitionRoutes } from './definition-routes.js';
import { registerEntityRoutes } from './entity-routes.js';
import { ApiError, badRequest, internalServerError, notFound } from './errors.js';
import { NO_CONTENT, bodyObject, ok, parseBool, putReply, requireKeys, vhostParam, withSession, type AddRoute, type JsonObject } from './handlers.js';
import type { Json } from './json.js';
import { shapeItem, shapeList } from './query.js';
import { isMonitor, listedVhosts, visibleVhosts } from './rights.js';
import type { ApiContext, ApiRequest, Reply } from './server.js';
import { EXCHANGE_TYPES, churnView, consumerInfos, contextsView, listenersView, nodeView, totalStats, vhostLengths, vhostView } from './views.js';

export const userView = (ctx: ApiContext, u: User): JsonObject => ({
  name: u.name,
  password_hash: ctx.broker.users.passwordHash(u.name) ?? '',
  hashing_algorithm: 'rabbit_password_hashing_sha256',
  tags: [...u.tags],
  limits: {},
});

const permissionView = (user: string, vhost: string, p: { configure: string; write: string; read: string }): JsonObject => ({ user, vhost, configure: p.configure, write: p.write, read: p.read });
const topicPermissionView = (t: TopicPermission): JsonObject => ({ user: t.user, vhost: t.vhost, exchange: t.exchange, write: t.write, read: t.read });
/** A vhost's lists name the vhost first, as RabbitMQ's do. */
const vhostFirst = (view: JsonObject): JsonObject => ({ vhost: view.vhost, ...view });

export const policyView = (vhost: string, p: Policy): JsonObject => ({ vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: p.definition as JsonObject, priority: p.priority });

/**
 * Adds or updates a user as RabbitMQ's put_user does: tags are required; a password is hashed, a
 * password_hash is taken as it is; neither leaves an existing user's password alone and gives a new
 * one none (nobody can log in as it).
 */
export function putUser(ctx: ApiContext, name: string, body: JsonObject): boolean {
  const users = ctx.broker.users;
  const existed = users.get(name) !== undefined;
  if (!('tags' in body)) throw badRequest('tags_not_present');
  const tags = parseTags(body.tags);
  if (typeof body.password === 'string') users.add(name, body.password, tags);
  else if (typeof body.password_hash === 'string') {
    const algorithm = body.hashing_algorithm ?? 'rabbit_password_hashing_sha256';
    if (algorithm !== 'rabbit_password_hashing_sha256') throw badRequest(`hashing algorithm ${String(algorithm)} is not supported`);
    if (users.addHashed(name, body.password_hash, tags) === undefined) throw badRequest('invalid password_hash');
  } else if (existed) users.setTags(name, tags);
  else users.addHashed(name, '', tags);
  return existed;
}

/** Sets a user's permissions in a vhost as RabbitMQ's API does (every key required, patterns valid). */
export function putPermissions(ctx: ApiContext, user: string, vhost: string, body: JsonObject): boolean {
  requireKeys(body, ['configure', 'write', 'read']);
  if (ctx.broker.users.get(user) === undefined || ctx.broker.vhost(vhost) === undefined) throw badRequest('vhost_or_user_not_found');
  const set = { configure: String(body.configure), write: String(body.write), read: String(body.read) };
  for (const pattern of [set.configure, set.write, set.read]) {
    const compiled = compilePcre(pattern);
    // RabbitMQ's reason is the Erlang term, its strings as lists of character codes
    if ('error' in compiled) throw badRequest(['invalid_regexp', [...pattern].map((c) => c.codePointAt(0)!), [[...compiled.error].map((c) => c.codePointAt(0)!), compiled.offset]]);
  }
  const existed = ctx.broker.permissions.get(user, vhost) !== undefined;
  ctx.broker.permissions.set(user, vhost, set);
  return existed;
}

/** A policy from a PUT body or a definitions file, checked as RabbitMQ checks it. */
export function policyFromJson(name: string, body: JsonObject): Policy {
  requireKeys(body, ['pattern', 'definition']);
  const applyTo = (body['apply-to'] ?? 'all') as PolicyTarget;
  if (!['queues', 'exchanges', 'all'].includes(applyTo)) throw badRequest(`Validation failed\n\n'${String(applyTo)}' is not a valid apply-to value\n`);
  const definition = body.definition;
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) throw badRequest('Validation failed\n\ndefinition must be a dictionary\n');
  const priority = body.priority === undefined ? 0 : body.priority;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) throw badRequest(`Validation failed\n\n${JSON.stringify(priority)} is not a valid priority\n`);
  return { name, pattern: String(body.pattern), applyTo, priority, definition: definition as Policy['definition'] };
}

/** Sets a policy, its validation failures HTML-escaped as RabbitMQ's API writes them. */
export function setPolicy(v: VirtualHost, policy: Policy): void {
  try {
    v.setPolicy(policy);
  } catch (err) {
    throw badRequest(escapeHtml((err as Error).message));
  }
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The cluster id RabbitMQ keeps as a global parameter: one per broker. */
const clusterIds = new WeakMap<object, string>();
function clusterId(ctx: ApiContext): string {
  let id = clusterIds.get(ctx.broker);
  if (id === undefined) clusterIds.set(ctx.broker, (id = `rabbitmq-cluster-id-${randomBytes(16).toString('base64url').slice(0, 22)}`));
  return id;
}

const statsDisabled = (req: ApiRequest) => req.query.get('disable_stats') === 'true';

function overview(req: ApiRequest, ctx: ApiContext): JsonObject {
  const { broker, node } = ctx;
  const user = req.user;
  const vhosts = listedVhosts(broker, user);
  let queues = 0;
  let exchanges = 0;
  let ready = 0;
  let unacked = 0;
  for (const name of vhosts) {
    const v = broker.vhost(name)!;
    queues += v.queues.size;
    exchanges += v.exchanges.size;
    const l = vhostLengths(v);
    ready += l.ready;
    unacked += l.unacked;
  }
  let connections = 0;
  let channels = 0;
  for (const c of broker.connections) {
    if (!isMonitor(user) && c.user !== user.name) continue;
    connections++;
    for (const _ of c.clientChannels) channels++;
  }
  const disabled = statsDisabled(req);
  const view: JsonObject = {
    management_version: node.version,
    rates_mode: 'basic',
    sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
    exchange_types: EXCHANGE_TYPES,
    product_version: node.version,
    product_name: node.product,
    rabbitmq_version: node.version,
    cluster_name: node.clusterName,
    erlang_version: process.versions.node,
    erlang_full_version: `Node.js ${process.version} (Warren ${node.warrenVersion})`,
    release_series_support_status: 'supported',
    disable_stats: disabled,
    enable_queue_totals: req.query.get('enable_queue_totals') === 'true',
  };
  if (disabled) {
    Object.assign(view, { node: node.node, object_totals: { queues, exchanges, connections } });
    return view;
  }
  const stats = totalStats(ctx);
  if (stats) view.message_stats = stats;
  if (isMonitor(user)) view.churn_rates = churnView(ctx);
  view.queue_totals = { messages: ready + unacked, messages_details: { rate: 0.0 }, messages_ready: ready, messages_ready_details: { rate: 0.0 }, messages_unacknowledged: unacked, messages_unacknowledged_details: { rate: 0.0 } };
  view.object_totals = { channels, connections, consumers: consumerInfos(broker, (c) => vhosts.includes(c.queue.vhostName)).length, exchanges, queues };
  view.statistics_db_event_queue = 0;
  view.node = node.node;
  if (isMonitor(user)) {
    view.listeners = listenersView(ctx);
    view.contexts = contextsView(ctx);
  }
  return view;
}

function healthRoutes(add: AddRoute): void {
  add('GET', '/api/health/checks/alarms', 'any', (_req, ctx) => alarmsCheck(ctx));
  add('GET', '/api/health/checks/local-alarms', 'any', (_req, ctx) => alarmsCheck(ctx));
  add('GET', '/api/health/checks/certificate-expiration/:within/:unit', 'any', () => ok({ status: 'ok' }));
  add('GET', '/api/health/checks/port-listener/:port', 'any', (req, ctx) => {
    const port = Number(req.params.port);
    const ports = listenersView(ctx).map((l) => l.port as number);
    if (!Number.isInteger(port)) throw badRequest(`Invalid port: ${req.params.port}`);
    if (ports.includes(port)) return ok({ status: 'ok', port });
    return { status: 503, body: { status: 'failed', reason: 'No active listener', missing: port, ports } };
  });
  add('GET', '/api/health/checks/protocol-listener/:protocol', 'any', (req, ctx) => {
    const protocols = listenersView(ctx).map((l) => l.protocol as string);
    const asked = req.params.protocol;
    // RabbitMQ's names for its protocols; amqp091 and amqp0-9-1 mean amqp
    const wanted = ['amqp091', 'amqp0-9-1', 'amqp0.9.1'].includes(asked) ? 'amqp' : asked;
    if (protocols.includes(wanted)) return ok({ status: 'ok', protocol: asked });
    return { status: 503, body: { status: 'failed', reason: 'No active listener', missing: asked, protocols } };
  });
  add('GET', '/api/health/checks/virtual-hosts', 'any', () => ok({ status: 'ok' }));
  add('GET', '/api/health/checks/node-is-quorum-critical', 'any', () => ok({ status: 'ok', reason: 'single node cluster' }));
  add('GET', '/api/health/checks/node-is-mirror-sync-critical', 'any', () => ok({ status: 'ok' }));
}

function alarmsCheck(ctx: ApiContext): Reply {
  const active = [...ctx.broker.alarms.active];
  if (active.length === 0) return ok({ status: 'ok' });
  const alarms = active.map((a) => ({ node: ctx.node.node, resource: a }));
  return { status: 503, body: { status: 'failed', reason: `resource alarm(s) in effect in the cluster`, alarms } };
}

function nodeRoutes(add: AddRoute): void {
  add('GET', '/api/overview', 'any', (req, ctx) => ok(shapeItem(overview(req, ctx), req.query)));
  add('GET', '/api/whoami', 'any', (req) => ok({ name: req.user.name, tags: [...req.user.tags] }));
  add('GET', '/api/extensions', 'any', () => ok([{ javascript: 'dispatcher.js' }]));
  add('GET', '/api/cluster-name', 'any', (_req, ctx) => ok({ name: ctx.node.clusterName }));
  add('GET', '/api/nodes', 'monitor', (req, ctx) => ok(shapeList([nodeView(ctx)], req.query, ['name'])));
  add('GET', '/api/nodes/:node', 'monitor', (req, ctx) => {
    if (req.params.node !== ctx.node.node) throw notFound();
    return ok(shapeItem(nodeView(ctx), req.query));
  });
  add('GET', '/api/aliveness-test/:vhost', 'vhost', (req, ctx) => {
    const v = vhostParam(ctx, req);
    // RabbitMQ declares the queue aliveness-test, publishes to it and gets the message back (and leaves the queue)
    return withSession(ctx, req, v, (session) => {
      session.declareQueue({ name: 'aliveness-test', passive: false, durable: false, exclusive: false, autoDelete: false, args: {} });
      const got = publishAndGet(session);
      return got ? ok({ status: 'ok' }) : { status: 503, body: { status: 'failed', reason: 'aliveness-test message not received' } };
    });
  });
  add('GET', '/api/feature-flags', 'admin', () => ok([]));
  add('GET', '/api/auth', 'any', () => ok({ oauth_enabled: false }));
  healthRoutes(add);
}

function publishAndGet(session: Session): boolean {
  const body = Buffer.from('test_message');
  const header = contentHeaderOf({}, body.length);
  session.publish('', 'aliveness-test', false, header, body, undefined, new PublishOutcome());
  return session.get('aliveness-test', true) !== undefined;
}

function userRoutes(add: AddRoute): void {
  add('GET', '/api/users', 'admin', (req, ctx) => ok(shapeList(ctx.broker.users.list().map((u) => userView(ctx, u)), req.query, ['name'])));
  add('GET', '/api/users/without-permissions', 'admin', (req, ctx) => {
    const withPermissions = new Set(ctx.broker.permissions.list().map((p) => p.user));
    return ok(shapeList(ctx.broker.users.list().filter((u) => !withPermissions.has(u.name)).map((u) => userView(ctx, u)), req.query, ['name']));
  });
  add('POST', '/api/users/bulk-delete', 'admin', (req, ctx) => {
    const body = bodyObject(req);
    requireKeys(body, ['users']);
    for (const name of Array.isArray(body.users) ? body.users : []) deleteUser(ctx, String(name));
    return NO_CONTENT;
  });
  add('GET', '/api/users/:user', 'admin', (req, ctx) => ok(userView(ctx, existingUser(ctx, req.params.user))));
  add('PUT', '/api/users/:user', 'admin', (req, ctx) => putReply(putUser(ctx, req.params.user, bodyObject(req))));
  add('DELETE', '/api/users/:user', 'admin', (req, ctx) => {
    existingUser(ctx, req.params.user);
    deleteUser(ctx, req.params.user);
    return NO_CONTENT;
  });
  add('GET', '/api/users/:user/permissions', 'admin', (req, ctx) => {
    existingUser(ctx, req.params.user);
    return ok(ctx.broker.permissions.list().filter((p) => p.user === req.params.user).map((p) => permissionView(p.user, p.vhost, p.permissions)));
  });
  add('GET', '/api/users/:user/topic-permissions', 'admin', (req, ctx) => {
    existingUser(ctx, req.params.user);
    return ok(ctx.broker.permissions.listTopic().filter((t) => t.user === req.params.user).map(topicPermissionView));
  });
  add('GET', '/api/user-limits', 'vhost-visible', () => ok([]));
  add('GET', '/api/user-limits/:user', 'vhost-visible', () => ok([]));
}

function existingUser(ctx: ApiContext, name: string): User {
  const u = ctx.broker.users.get(name);
  if (!u) throw notFound();
  return u;
}

/** A user goes with its permissions, and its connections are closed, as RabbitMQ does. */
function deleteUser(ctx: ApiContext, name: string): void {
  if (!ctx.broker.users.delete(name)) return;
  ctx.broker.permissions.clearUser(name);
}

function vhostRoutes(add: AddRoute): void {
  add('GET', '/api/vhosts', 'any', (req, ctx) => {
    const names = visibleVhosts(ctx.broker, req.user);
    return ok(shapeList(names.map((n) => vhostView(ctx, ctx.broker.vhost(n)!)), req.query, ['name']));
  });
  add('GET', '/api/vhosts/:vhost', 'admin', (req, ctx) => ok(shapeItem(vhostView(ctx, vhostParam(ctx, req)), req.query)));
  add('PUT', '/api/vhosts/:vhost', 'admin', (req, ctx) => {
    const body = bodyObject(req);
    const name = req.params.vhost;
    const existed = ctx.broker.vhost(name) !== undefined;
    // what the body leaves out is cleared, as RabbitMQ clears it
    const description = body.description === undefined ? '' : String(body.description);
    const tags = body.tags === undefined ? [] : parseTags(body.tags);
    const tracing = parseBool(body.tracing);
    // the management UI's field name; RabbitMQ checks and keeps it only when it makes the vhost
    const defaultQueueType = existed || body.defaultqueuetype === undefined ? undefined : String(body.defaultqueuetype);
    if (defaultQueueType !== undefined && !isQueueType(defaultQueueType)) throw internalServerError('Error occured while adding vhost', 'invalid_queue_type');
    const v = ctx.broker.addVhost(name, { description, tags, defaultQueueType });
    if (tracing !== undefined) v.tracing = tracing;
    // RabbitMQ gives the vhost's creator full permissions in it
    if (!existed) ctx.broker.permissions.set(req.user.name, name, { configure: '.*', write: '.*', read: '.*' });
    return putReply(existed);
  });
  add('DELETE', '/api/vhosts/:vhost', 'admin', (req, ctx) => {
    vhostParam(ctx, req);
    ctx.broker.deleteVhost(req.params.vhost);
    return NO_CONTENT;
  });
  add('GET', '/api/vhosts/:vhost/permissions', 'admin', (req, ctx) => {
    vhostParam(ctx, req);
    return ok(ctx.broker.permissions.list().filter((p) => p.vhost === req.params.vhost).map((p) => vhostFirst(permissionView(p.user, p.vhost, p.permissions))));
  });
  add('GET', '/api/vhosts/:vhost/topic-permissions', 'admin', (req, ctx) => {
    vhostParam(ctx, req);
    return ok(ctx.broker.permissions.listTopic().filter((t) => t.vhost === req.params.vhost).map((t) => vhostFirst(topicPermissionView(t))));
  });
  const limitsView = (v: VirtualHost) => ({ vhost: v.name, value: Object.fromEntries([...v.limits].sort(([a], [b]) => a.localeCompare(b))) });
  add('GET', '/api/vhost-limits', 'vhost-visible', (_req, ctx) =>
    ok(ctx.broker.vhostNames.map((n) => ctx.broker.vhost(n)!).filter((v) => v.limits.size > 0).map(limitsView)),
  );
  add('GET', '/api/vhost-limits/:vhost', 'vhost-visible', (req, ctx) => {
    const v = vhostParam(ctx, req);
    return ok(v.limits.size > 0 ? [limitsView(v)] : []);
  });
  add('PUT', '/api/vhost-limits/:vhost/:name', 'admin', (req, ctx) => {
    const v = ctx.broker.vhost(req.params.vhost);
    if (!v) throw new ApiError(404, 'not_found', 'vhost_not_found');
    const body = bodyObject(req);
    requireKeys(body, ['value']);
    // rabbit_vhost_limit's validation, with its texts
    const value = body.value;
    const limit = req.params.name;
    if (!(VHOST_LIMITS as readonly string[]).includes(limit)) throw badRequest(`Validation failed\n\nUnrecognised terms [{${erlangValue(limit)},${erlangValue(value)}}] in limits\n`);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest(`Validation failed\n\n${limit} should be a number, actually was ${erlangValue(value)}\n`);
    ctx.broker.setVhostLimit(v, limit as VhostLimit, value);
    return NO_CONTENT;
  });
  add('DELETE', '/api/vhost-limits/:vhost/:name', 'admin', (req, ctx) => {
    const v = vhostParam(ctx, req);
    if ((VHOST_LIMITS as readonly string[]).includes(req.params.name)) ctx.broker.setVhostLimit(v, req.params.name as VhostLimit, undefined);
    return NO_CONTENT;
  });
}

function permissionRoutes(add: AddRoute): void {
  add('GET', '/api/permissions', 'admin', (_req, ctx) => ok(ctx.broker.permissions.list().map((p) => permissionView(p.user, p.vhost, p.permissions))));
  add('GET', '/api/permissions/:vhost/:user', 'admin', (req, ctx) => {
    const p = ctx.broker.permissions.get(req.params.user, req.params.vhost);
    if (!p || ctx.broker.vhost(req.params.vhost) === undefined) throw notFound();
    return ok(permissionView(req.params.user, req.params.vhost, p));
  });
  add('PUT', '/api/permissions/:vhost/:user', 'admin', (req, ctx) => putReply(putPermissions(ctx, req.params.user, req.params.vhost, bodyObject(req))));
  add('DELETE', '/api/permissions/:vhost/:user', 'admin', (req, ctx) => {
    if (ctx.broker.permissions.get(req.params.user, req.params.vhost) === undefined) throw notFound();
    ctx.broker.permissions.clear(req.params.user, req.params.vhost);
    return NO_CONTENT;
  });
  add('GET', '/api/topic-permissions', 'admin', (_req, ctx) => ok(ctx.broker.permissions.listTopic().map(topicPermissionView)));
  // with or without an exchange, a user's topic permissions in a vhost are one resource, as in RabbitMQ
  for (const path of ['/api/topic-permissions/:vhost/:user', '/api/topic-permissions/:vhost/:user/:exchange']) {
    add('GET', path, 'admin', (req, ctx) => ok(existingTopicPermissions(ctx, req).map(topicPermissionView)));
    add('PUT', path, 'admin', (req, ctx) => putReply(putTopicPermission(ctx, req.params.user, req.params.vhost, bodyObject(req))));
    add('DELETE', path, 'admin', (req, ctx) => {
      existingTopicPermissions(ctx, req);
      ctx.broker.permissions.clearTopic(req.params.user, req.params.vhost, req.params.exchange);
      return NO_CONTENT;
    });
  }
}

/** The user's topic permissions in the vhost; none (or no such user or vhost) is a 404. */
function existingTopicPermissions(ctx: ApiContext, req: ApiRequest): TopicPermission[] {
  const { user, vhost } = req.params;
  const found = ctx.broker.permissions.listTopic().filter((t) => t.user === user && t.vhost === vhost);
  if (found.length === 0 || ctx.broker.vhost(vhost) === undefined) throw notFound();
  return found;
}

/** Sets a topic permission from a PUT body or a definitions file; true when the user had some in the vhost. */
export function putTopicPermission(ctx: ApiContext, user: string, vhost: string, body: JsonObject): boolean {
  if (ctx.broker.users.get(user) === undefined || ctx.broker.vhost(vhost) === undefined) throw badRequest('vhost_or_user_not_found');
  requireKeys(body, ['exchange', 'write', 'read']);
  const permission = { user, vhost, exchange: String(body.exchange), write: String(body.write), read: String(body.read) };
  for (const pattern of [permission.write, permission.read]) {
    const compiled = compilePcre(pattern);
    // the pattern is a binary in this Erlang term, PCRE's message a list of character codes
    if ('error' in compiled) throw badRequest(['invalid_regexp', pattern, [[...compiled.error].map((c) => c.codePointAt(0)!), compiled.offset]]);
  }
  const existed = ctx.broker.permissions.listTopic().some((t) => t.user === user && t.vhost === vhost);
  ctx.broker.permissions.setTopic(permission);
  return existed;
}

function policyRoutes(add: AddRoute): void {
  const list = (req: ApiRequest, ctx: ApiContext, vhosts: string[]) =>
    ok(shapeList(vhosts.flatMap((n) => [...ctx.broker.vhost(n)!.policies.values()].map((p) => policyView(n, p))), req.query));
  add('GET', '/api/policies', 'vhost', (req, ctx) => list(req, ctx, listedVhosts(ctx.broker, req.user)));
  add('GET', '/api/policies/:vhost', 'vhost', (req, ctx) => list(req, ctx, [vhostParam(ctx, req).name]));
  add('GET', '/api/policies/:vhost/:name', 'policies', (req, ctx) => {
    const p = vhostParam(ctx, req).policies.get(req.params.name);
    if (!p) throw notFound();
    return ok(policyView(req.params.vhost, p));
  });
  add('PUT', '/api/policies/:vhost/:name', 'policies', (req, ctx) => {
    const v = ctx.broker.vhost(req.params.vhost);
    if (!v) throw new ApiError(404, 'not_found', 'vhost_not_found');
    const existed = v.policies.has(req.params.name);
    setPolicy(v, policyFromJson(req.params.name, bodyObject(req)));
    return putReply(existed);
  });
  add('DELETE', '/api/policies/:vhost/:name', 'policies', (req, ctx) => {
    const v = vhostParam(ctx, req);
    if (!v.policies.has(req.params.name)) throw notFound();
    v.clearPolicy(req.params.name);
    return NO_CONTENT;
  });
  // Warren has no operator policies or runtime parameters: lists are empty, single ones not found
  for (const path of ['/api/operator-policies', '/api/operator-policies/:vhost']) add('GET', path, 'vhost', () => ok([]));
  add('GET', '/api/operator-policies/:vhost/:name', 'admin', () => {
    throw notFound();
  });
  for (const path of ['/api/parameters', '/api/parameters/:component', '/api/parameters/:component/:vhost']) add('GET', path, 'policies', () => ok([]));
  add('GET', '/api/parameters/:component/:vhost/:name', 'policies', () => {
    throw notFound();
  });
  add('GET', '/api/global-parameters', 'global-parameters', (_req, ctx) => ok([{ name: 'internal_cluster_id', value: clusterId(ctx) }]));
  add('GET', '/api/global-parameters/:name', 'global-parameters', (req, ctx) => {
    if (req.params.name !== 'internal_cluster_id') throw notFound();
    return ok({ name: 'internal_cluster_id', value: clusterId(ctx) });
  });
}

export function registerRoutes(add: AddRoute): void {
  nodeRoutes(add);
  userRoutes(add);
  vhostRoutes(add);
  permissionRoutes(add);
  policyRoutes(add);
  registerEntityRoutes(add);
  registerDefinitionRoutes(add);
}

/** A decoded JSON value as Erlang prints it in RabbitMQ's validation texts: strings as binaries. */
function erlangValue(v: Json | undefined): string {
  return typeof v === 'string' ? `<<"${v}">>` : v === null || v === undefined ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}
