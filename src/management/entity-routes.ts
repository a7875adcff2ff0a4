// Queues, exchanges, bindings, connections, channels and consumers over the management API. Every
// change goes through a broker Session acting for the signed-in user, so its permissions and
// RabbitMQ's channel rules apply exactly as they do over AMQP.
import { isUtf8 } from 'node:buffer';
import type { ClientConnection } from '../broker/clients.js';
import { BrokerError } from '../broker/errors.js';
import type { Destination, Exchange } from '../broker/exchange.js';
import { contentHeaderOf } from '../broker/message.js';
import { PublishOutcome } from '../broker/publishing.js';
import type { Queue } from '../broker/queue.js';
import type { VirtualHost } from '../broker/virtual-host.js';
import { ReplyCode } from '../protocol/generated/spec.js';
import { ApiError, badRequest, notAuthorised, notFound } from './errors.js';
import { jsonToTable, propertiesFromJson, propertiesToJson, type Json } from './json.js';
import { shapeItem, shapeList } from './query.js';
import { isAdmin, isMonitor, listedVhosts } from './rights.js';
import { NO_CONTENT, bodyObject, ok, parseBool, parseInt_, putReply, requireKeys, vhostParam, withSession, type AddRoute, type JsonObject } from './handlers.js';
import type { ApiContext, ApiRequest, Reply } from './server.js';
import {
  bindingView, channelName, channelView, connectionView, consumerInfos, consumerView, defaultBindingView, exchangeView, propertiesKey, queueBrief, queueView,
} from './views.js';

/** The vhosts a list covers: the path's, or every one the user's lists show. */
function listVhosts(ctx: ApiContext, req: ApiRequest): VirtualHost[] {
  if (req.params.vhost !== undefined) return [vhostParam(ctx, req)];
  return listedVhosts(ctx.broker, req.user).map((n) => ctx.broker.vhost(n)!);
}

/** The default exchange is amq.default in paths. */
const exchangeName = (name: string) => (name === 'amq.default' ? '' : name);

/** Arguments from a body: absent or [] is none; null values are refused as RabbitMQ refuses them. */
function argumentsOf(v: Json | undefined) {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(['unhandled_type', v]);
  const hasNull = (x: Json): boolean => x === null || (typeof x === 'object' && Object.values(x as object).some((y) => hasNull(y as Json)));
  if (hasNull(v)) throw badRequest('null_not_allowed');
  return jsonToTable(v);
}

/** A PUT's vhost: RabbitMQ's with_vhost_and_props says vhost_not_found. */
function vhostForChange(ctx: ApiContext, req: ApiRequest): VirtualHost {
  const v = ctx.broker.vhost(req.params.vhost);
  if (!v) throw new ApiError(404, 'not_found', 'vhost_not_found');
  return v;
}

// ---- queues ----

function queueListItem(ctx: ApiContext, req: ApiRequest, q: Queue): JsonObject {
  if (req.query.get('disable_stats') === 'true') return queueBrief(ctx, q, req.query.get('enable_queue_totals') === 'true');
  return queueView(ctx, q, false);
}

function existingQueue(ctx: ApiContext, req: ApiRequest, name = req.params.queue): Queue {
  const q = vhostParam(ctx, req).queues.get(name);
  if (!q) throw notFound();
  return q;
}

function queueRoutes(add: AddRoute): void {
  const list = (req: ApiRequest, ctx: ApiContext) => ok(shapeList(listVhosts(ctx, req).flatMap((v) => [...v.queues.values()].map((q) => queueListItem(ctx, req, q))), req.query));
  add('GET', '/api/queues', 'vhost', list);
  add('GET', '/api/queues/:vhost', 'vhost', list);
  add('GET', '/api/queues/:vhost/:queue', 'vhost', (req, ctx) => {
    const q = existingQueue(ctx, req);
    const view = req.query.get('disable_stats') === 'true' ? queueBrief(ctx, q, false) : queueView(ctx, q, true);
    return ok(shapeItem(view, req.query));
  });
  add('PUT', '/api/queues/:vhost/:queue', 'vhost', (req, ctx) => {
    const v = vhostForChange(ctx, req);
    const body = bodyObject(req);
    const name = req.params.queue;
    const existed = v.queues.has(name);
    withSession(ctx, req, v, (s) =>
      s.declareQueue({
        name,
        passive: parseBool(body.passive) ?? false,
        durable: parseBool(body.durable) ?? false,
        exclusive: false,
        autoDelete: parseBool(body.auto_delete) ?? false,
        args: argumentsOf(body.arguments),
      }),
    );
    return putReply(existed);
  });
  add('DELETE', '/api/queues/:vhost/:queue', 'vhost', (req, ctx) => {
    const q = existingQueue(ctx, req);
    const ifUnused = req.query.get('if-unused') === 'true';
    const ifEmpty = req.query.get('if-empty') === 'true';
    withSession(ctx, req, vhostParam(ctx, req), (s) => s.deleteQueue(q.name, ifUnused, ifEmpty));
    return NO_CONTENT;
  });
  add('DELETE', '/api/queues/:vhost/:queue/contents', 'vhost', (req, ctx) => {
    const q = existingQueue(ctx, req);
    withSession(ctx, req, vhostParam(ctx, req), (s) => s.purgeQueue(q.name));
    return NO_CONTENT;
  });
  add('POST', '/api/queues/:vhost/:queue/get', 'vhost', (req, ctx) => getMessages(req, ctx));
  add('GET', '/api/queues/:vhost/:queue/bindings', 'vhost', (req, ctx) => {
    const q = existingQueue(ctx, req);
    return ok(shapeList([defaultBindingView(q.vhostName, q), ...[...q.bindings].map((b) => bindingView(q.vhostName, b))], req.query, BINDING_SORT));
  });
}

const ACK_MODES: Readonly<Record<string, { noAck: boolean; settle?: 'requeue' | 'ack' | 'dead-letter' }>> = {
  ack_requeue_false: { noAck: true },
  ack_requeue_true: { noAck: false, settle: 'requeue' },
  reject_requeue_true: { noAck: false, settle: 'requeue' },
  reject_requeue_false: { noAck: false, settle: 'dead-letter' },
};

/** POST …/get: RabbitMQ's basic.gets on a channel of its own, settled as `ackmode` says once all are taken. */
function getMessages(req: ApiRequest, ctx: ApiContext): Reply {
  const v = vhostParam(ctx, req);
  const body = bodyObject(req);
  requireKeys(body, ['ackmode', 'count', 'encoding']);
  const mode = ACK_MODES[String(body.ackmode)];
  const count = parseInt_(body.count);
  if (body.encoding !== 'auto' && body.encoding !== 'base64') throw badRequest('Unsupported encoding. Please use auto or base64.');
  const truncate = body.truncate === undefined ? undefined : parseInt_(body.truncate);
  // an unknown ackmode crashes RabbitMQ's handler: an empty 500
  if (mode === undefined) throw new ApiError(500, undefined);
  return withSession(ctx, req, v, (s) => {
    const out: JsonObject[] = [];
    const tags: number[] = [];
    for (let i = 0; i < count; i++) {
      const got = s.get(req.params.queue, mode.noAck);
      if (!got) break;
      if (!mode.noAck) tags.push(got.deliveryTag);
      const m = got.message;
      const payload = truncate === undefined || m.body.length < truncate ? m.body : m.body.subarray(0, truncate);
      const text = body.encoding === 'auto' && isUtf8(payload) ? payload.toString('utf8') : undefined;
      out.push({
        payload_bytes: m.body.length,
        redelivered: got.redelivered,
        exchange: m.exchange,
        routing_key: m.routingKey,
        message_count: got.messageCount,
        properties: propertiesToJson(m.properties),
        payload: text ?? payload.toString('base64'),
        payload_encoding: text === undefined ? 'base64' : 'string',
      });
    }
    // the session's release requeues what ack_requeue_true and reject_requeue_true leave unacknowledged
    if (mode.settle === 'dead-letter') for (const tag of tags) s.settle(tag, false, 'dead-letter');
    return ok(out);
  });
}

// ---- exchanges ----

function existingExchange(ctx: ApiContext, req: ApiRequest): Exchange {
  const e = vhostParam(ctx, req).exchanges.get(exchangeName(req.params.exchange));
  if (!e) throw notFound();
  return e;
}

function exchangeRoutes(add: AddRoute): void {
  const list = (req: ApiRequest, ctx: ApiContext) => {
    const stats = req.query.get('disable_stats') !== 'true';
    return ok(shapeList(listVhosts(ctx, req).flatMap((v) => [...v.exchanges.values()].map((e) => exchangeView(ctx, v.name, e, false, stats))), req.query));
  };
  add('GET', '/api/exchanges', 'vhost', list);
  add('GET', '/api/exchanges/:vhost', 'vhost', list);
  add('GET', '/api/exchanges/:vhost/:exchange', 'vhost', (req, ctx) => {
    const e = existingExchange(ctx, req);
    return ok(shapeItem(exchangeView(ctx, req.params.vhost, e, true, req.query.get('disable_stats') !== 'true'), req.query));
  });
  add('PUT', '/api/exchanges/:vhost/:exchange', 'vhost', (req, ctx) => {
    const v = vhostForChange(ctx, req);
    const body = bodyObject(req);
    const name = exchangeName(req.params.exchange);
    const existed = v.exchanges.has(name);
    withSession(ctx, req, v, (s) =>
      s.declareExchange({
        name,
        type: body.type === undefined ? 'direct' : String(body.type),
        passive: parseBool(body.passive) ?? false,
        durable: parseBool(body.durable) ?? false,
        autoDelete: parseBool(body.auto_delete) ?? false,
        internal: parseBool(body.internal) ?? false,
        args: argumentsOf(body.arguments),
      }),
    );
    return putReply(existed);
  });
  add('DELETE', '/api/exchanges/:vhost/:exchange', 'vhost', (req, ctx) => {
    const e = existingExchange(ctx, req);
    withSession(ctx, req, vhostParam(ctx, req), (s) => s.deleteExchange(e.name, req.query.get('if-unused') === 'true'));
    return NO_CONTENT;
  });
  add('POST', '/api/exchanges/:vhost/:exchange/publish', 'vhost', (req, ctx) => publish(req, ctx));
  add('GET', '/api/exchanges/:vhost/:exchange/bindings/source', 'vhost', (req, ctx) => {
    const e = existingExchange(ctx, req);
    const v = vhostParam(ctx, req);
    const implicit = e.name === '' ? [...v.queues.values()].map((q) => defaultBindingView(v.name, q)) : [];
    return ok(shapeList([...implicit, ...[...e.bindings.values()].map((b) => bindingView(v.name, b))], req.query, BINDING_SORT));
  });
  add('GET', '/api/exchanges/:vhost/:exchange/bindings/destination', 'vhost', (req, ctx) => {
    const e = existingExchange(ctx, req);
    return ok(shapeList([...e.incoming].map((b) => bindingView(req.params.vhost, b)), req.query, BINDING_SORT));
  });
}

/** POST …/publish: a mandatory publish; `routed` says whether a queue took it. */
function publish(req: ApiRequest, ctx: ApiContext): Reply {
  const v = vhostParam(ctx, req);
  const body = bodyObject(req);
  requireKeys(body, ['routing_key', 'properties', 'payload', 'payload_encoding']);
  if (typeof body.payload !== 'string') throw badRequest('payload not a string');
  const props = body.properties;
  if (props === null || typeof props !== 'object' || Array.isArray(props)) throw badRequest(['not_a_map', props]);
  let payload: Buffer;
  if (body.payload_encoding === 'string') payload = Buffer.from(body.payload, 'utf8');
  else if (body.payload_encoding === 'base64') payload = Buffer.from(body.payload, 'base64');
  else throw badRequest(['unsupported_encoding', body.payload_encoding]);
  const properties = propertiesFromJson(props);
  const header = contentHeaderOf(properties, payload.length);
  const exchange = exchangeName(req.params.exchange);
  const routingKey = String(body.routing_key);
  return withSession(ctx, req, v, (s) => {
    const outcome = new PublishOutcome();
    try {
      const ttl = s.checkPublish(exchange, routingKey, false, header);
      s.publish(exchange, routingKey, true, header, payload, ttl, outcome);
    } catch (err) {
      // the publish's channel was closed: RabbitMQ reports the code and the whole reply text
      if (err instanceof BrokerError) throw badRequest(`${err.code} ${err.text}`);
      throw err;
    }
    ctx.broker.writePending();
    if (outcome.rejected) throw badRequest('rejected Unable to publish message. Check queue limits.');
    return ok({ routed: !outcome.unroutable });
  });
}

// ---- bindings ----

const BINDING_SORT = ['vhost', 'source', 'destination_type', 'destination', 'routing_key', 'properties_key'];

function destinationOf(req: ApiRequest, v: VirtualHost): Destination | undefined {
  const name = req.params.destination;
  return req.params.dtype === 'q' ? v.queues.get(name) : v.exchanges.get(exchangeName(name));
}

function bindingsBetween(ctx: ApiContext, req: ApiRequest): { v: VirtualHost; list: JsonObject[] } {
  const v = vhostParam(ctx, req);
  const source = v.exchanges.get(exchangeName(req.params.source));
  const destination = destinationOf(req, v);
  if (!source || !destination) throw notFound();
  const list = [...source.bindings.values()].filter((b) => b.destination === destination).map((b) => bindingView(v.name, b));
  if (source.name === '' && destination.kind === 'queue') list.unshift(defaultBindingView(v.name, destination));
  return { v, list };
}

function bindingRoutes(add: AddRoute): void {
  const all = (req: ApiRequest, ctx: ApiContext) => {
    const items = listVhosts(ctx, req).flatMap((v) => [
      ...[...v.queues.values()].map((q) => defaultBindingView(v.name, q)),
      ...[...v.exchanges.values()].flatMap((e) => [...e.bindings.values()].map((b) => bindingView(v.name, b))),
    ]);
    return ok(shapeList(items, req.query, BINDING_SORT));
  };
  add('GET', '/api/bindings', 'vhost', all);
  add('GET', '/api/bindings/:vhost', 'vhost', all);
  const path = '/api/bindings/:vhost/e/:source/:dtype/:destination';
  add('GET', path, 'vhost', (req, ctx) => {
    if (!['q', 'e'].includes(req.params.dtype)) throw notFound();
    return ok(shapeList(bindingsBetween(ctx, req).list, req.query, BINDING_SORT));
  });
  add('POST', path, 'vhost', (req, ctx) => {
    if (!['q', 'e'].includes(req.params.dtype)) throw notFound();
    const v = vhostParam(ctx, req);
    const body = bodyObject(req);
    const routingKey = body.routing_key === undefined ? '' : String(body.routing_key);
    const args = argumentsOf(body.arguments);
    const source = exchangeName(req.params.source);
    const destination = req.params.destination;
    withSession(ctx, req, v, (s) => {
      if (req.params.dtype === 'q') s.bindQueue(true, destination, source, routingKey, args);
      else s.bindExchange(true, exchangeName(destination), source, routingKey, args);
    });
    // RabbitMQ's location is relative to the request path, the properties key URL-encoded once more
    const key = propertiesKey(routingKey, body.arguments && typeof body.arguments === 'object' && !Array.isArray(body.arguments) ? body.arguments : {});
    return { status: 201, headers: { location: `${encodeURIComponent(destination)}/${encodeURIComponent(key)}` } };
  });
  const one = (req: ApiRequest, ctx: ApiContext) => {
    const found = bindingsBetween(ctx, req).list.find((b) => b.properties_key === req.params.props);
    if (!found) throw notFound();
    return found;
  };
  add('GET', `${path}/:props`, 'vhost', (req, ctx) => ok(one(req, ctx)));
  add('DELETE', `${path}/:props`, 'vhost', (req, ctx) => {
    const b = one(req, ctx);
    const v = vhostParam(ctx, req);
    const args = jsonToTable(b.arguments as JsonObject);
    withSession(ctx, req, v, (s) => {
      if (req.params.dtype === 'q') s.bindQueue(false, String(b.destination), String(b.source), String(b.routing_key), args);
      else s.bindExchange(false, String(b.destination), String(b.source), String(b.routing_key), args);
    });
    return NO_CONTENT;
  });
}

// ---- connections, channels, consumers ----

/** Users without the monitoring tag see only their own connections and channels. */
const ownOrMonitor = (req: ApiRequest, c: ClientConnection) => isMonitor(req.user) || c.user === req.user.name;

/**
 * A connection named in the path, as RabbitMQ's is_authorized_user decides: monitoring users (to see)
 * and administrators (to close) or its own user. An unknown one crashes RabbitMQ's check for
 * everyone but administrators (an empty 500).
 */
function namedConnection(ctx: ApiContext, req: ApiRequest, name: string): ClientConnection {
  const c = [...ctx.broker.connections].find((x) => x.name === name);
  if (!c) throw isAdmin(req.user) ? notFound() : new ApiError(500, undefined);
  const allowed = req.method === 'DELETE' ? isAdmin(req.user) : isMonitor(req.user);
  if (!allowed && c.user !== req.user.name) throw notAuthorised('User not authorised to access object');
  return c;
}

function connectionList(req: ApiRequest, ctx: ApiContext, vhost?: string): Reply {
  const list = [...ctx.broker.connections].filter((c) => ownOrMonitor(req, c) && (vhost === undefined || c.vhost === vhost));
  return ok(shapeList(list.map((c) => connectionView(ctx, c, false)), req.query));
}

function channelList(req: ApiRequest, ctx: ApiContext, test: (c: ClientConnection) => boolean): Reply {
  const items: JsonObject[] = [];
  for (const c of ctx.broker.connections) {
    if (!test(c)) continue;
    for (const ch of c.clientChannels) items.push(channelView(ctx, c, ch, false));
  }
  return ok(shapeList(items, req.query));
}

function clientRoutes(add: AddRoute): void {
  add('GET', '/api/connections', 'any', (req, ctx) => connectionList(req, ctx));
  add('GET', '/api/vhosts/:vhost/connections', 'vhost', (req, ctx) => connectionList(req, ctx, vhostParam(ctx, req).name));
  add('GET', '/api/connections/:connection', 'any', (req, ctx) => ok(shapeItem(connectionView(ctx, namedConnection(ctx, req, req.params.connection), true), req.query)));
  add('DELETE', '/api/connections/:connection', 'any', (req, ctx) => {
    const c = namedConnection(ctx, req, req.params.connection);
    const reason = req.headers['x-reason'];
    c.close(ReplyCode.CONNECTION_FORCED, `CONNECTION_FORCED - ${typeof reason === 'string' ? reason : 'Closed via management plugin'}`);
    return NO_CONTENT;
  });
  add('GET', '/api/connections/:connection/channels', 'any', (req, ctx) => {
    const c = namedConnection(ctx, req, req.params.connection);
    return channelList(req, ctx, (x) => x === c);
  });
  add('GET', '/api/channels', 'any', (req, ctx) => channelList(req, ctx, (c) => ownOrMonitor(req, c)));
  add('GET', '/api/vhosts/:vhost/channels', 'vhost', (req, ctx) => {
    const v = vhostParam(ctx, req);
    return channelList(req, ctx, (c) => ownOrMonitor(req, c) && c.vhost === v.name);
  });
  add('GET', '/api/channels/:channel', 'any', (req, ctx) => {
    for (const c of ctx.broker.connections) {
      for (const ch of c.clientChannels) {
        if (channelName(c, ch) !== req.params.channel) continue;
        if (!isMonitor(req.user) && c.user !== req.user.name) throw notAuthorised('User not authorised to access object');
        return ok(shapeItem(channelView(ctx, c, ch, true), req.query));
      }
    }
    throw notFound();
  });
  const consumers = (req: ApiRequest, ctx: ApiContext) => {
    const vhosts = new Set(listVhosts(ctx, req).map((v) => v.name));
    const list = consumerInfos(ctx.broker, (c) => vhosts.has(c.queue.vhostName) && ownOrMonitor(req, c.connection));
    return ok(shapeList(list.map((c) => consumerView(ctx, c)), req.query, ['queue.vhost', 'queue.name', 'consumer_tag']));
  };
  add('GET', '/api/consumers', 'any', consumers);
  add('GET', '/api/consumers/:vhost', 'vhost', consumers);
}

export function registerEntityRoutes(add: AddRoute): void {
  queueRoutes(add);
  exchangeRoutes(add);
  bindingRoutes(add);
  clientRoutes(add);
}
