// The broker's entities as RabbitMQ 3.10's management API shows them: its field names and types,
// counts read live, rates from the sampler.
import { availableParallelism } from 'node:os';
import type { Broker } from '../broker/broker.js';
import type { ClientChannel, ClientConnection } from '../broker/clients.js';
import type { Binding, Exchange } from '../broker/exchange.js';
import { COUNTER_KEYS, type CounterKey, type MessageCounters } from '../broker/observation.js';
import type { Queue } from '../broker/queue.js';
import { vhostMetadata } from '../broker/definitions-file.js';
import type { VirtualHost } from '../broker/virtual-host.js';
import { tableToJson, type Json } from './json.js';
import type { Rates } from './rates.js';

type JsonObject = { [key: string]: Json };

/** What the views need besides the broker: the node's identity and listeners. */
export interface NodeInfo {
  /** RabbitMQ's node name (rabbit@host); Warren's cluster name. */
  readonly node: string;
  readonly clusterName: string;
  readonly product: string;
  readonly version: string;
  readonly warrenVersion: string;
  /** The AMQP listener, and the management listener once bound. */
  readonly amqp: { host: string; port: number } | undefined;
  readonly http: { host: string; port: number } | undefined;
}

export interface ViewContext {
  readonly broker: Broker;
  readonly rates: Rates;
  readonly node: NodeInfo;
}

const rate = (ctx: ViewContext, entity: object, key: string) => ({ rate: round(ctx.rates.rate(entity, key)) });
const round = (n: number) => Math.round(n * 10) / 10;

/** RabbitMQ's timestamps for idle_since: ISO 8601 with milliseconds and +00:00. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

/** RabbitMQ's message_stats names, each the sum of these counters. */
const STATS: Readonly<Record<'exchange' | 'other', Readonly<Record<string, readonly CounterKey[]>>>> = {
  exchange: { publish_in: ['published'], publish_out: ['routed'] },
  other: {
    publish: ['published'],
    confirm: ['confirmed'],
    return_unroutable: ['unroutableReturned'],
    drop_unroutable: ['unroutableDropped'],
    get: ['got'],
    get_no_ack: ['gotNoAck'],
    get_empty: ['gotEmpty'],
    deliver: ['delivered'],
    deliver_no_ack: ['deliveredNoAck'],
    deliver_get: ['delivered', 'deliveredNoAck', 'got', 'gotNoAck'],
    redeliver: ['redelivered'],
    ack: ['acked'],
  },
};

/** The values the sampler keeps for an entity with counters (and whatever else it counts). */
export function sampled(c: MessageCounters, extra: Record<string, number> = {}): Record<string, number> {
  const values: Record<string, number> = { ...extra };
  for (const key of COUNTER_KEYS) values[key] = c[key];
  return values;
}

/**
 * message_stats: the counters that have moved, each with its rate. RabbitMQ leaves out what never
 * happened; an entity without any gets no message_stats at all (undefined).
 */
function messageStats(ctx: ViewContext, entity: object, c: MessageCounters, kind: 'exchange' | 'other'): JsonObject | undefined {
  const out: JsonObject = {};
  for (const [name, keys] of Object.entries(STATS[kind])) {
    const value = keys.reduce((sum, k) => sum + c[k], 0);
    if (value === 0) continue;
    out[name] = value;
    out[`${name}_details`] = { rate: round(keys.reduce((sum, k) => sum + ctx.rates.rate(entity, k), 0)) };
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

const GC = { fullsweep_after: 65535, max_heap_size: 0, min_bin_vheap_size: 46422, min_heap_size: 233, minor_gcs: 0 };

// ---- queues ----

export function queueLengths(q: Queue): { messages: number; ready: number; unacked: number } {
  const ready = q.messageCount;
  return { messages: ready + q.unacked, ready, unacked: q.unacked };
}

export function queueView(ctx: ViewContext, q: Queue, single: boolean): JsonObject {
  const { ready, unacked, messages } = queueLengths(q);
  const l = q.lengths;
  const policy = q.policy;
  const consumers = q.consumerCount;
  const idle = ctx.rates.idleSince(q);
  const view: JsonObject = {
    arguments: tableToJson(q.options.args),
    auto_delete: q.options.autoDelete,
    consumer_capacity: consumers === 0 ? 0 : 1.0,
    consumer_utilisation: consumers === 0 ? 0 : 1.0,
    consumers,
    durable: q.options.durable,
    effective_policy_definition: (policy?.definition ?? {}) as JsonObject,
    exclusive: q.options.owner !== undefined,
    garbage_collection: GC,
    memory: 0,
    message_bytes: l.readyBytes + q.unackedBytes,
    message_bytes_paged_out: l.pagedOutBytes,
    message_bytes_ram: l.residentBytes + q.unackedBytes,
    message_bytes_ready: l.readyBytes,
    message_bytes_unacknowledged: q.unackedBytes,
    messages,
    messages_details: rate(ctx, q, 'messages'),
    messages_paged_out: l.pagedOut,
    messages_ram: l.resident + unacked,
    messages_ready: ready,
    messages_ready_details: rate(ctx, q, 'messages_ready'),
    messages_ready_ram: l.resident,
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rate(ctx, q, 'messages_unacknowledged'),
    messages_unacknowledged_ram: unacked,
    name: q.name,
    node: ctx.node.node,
    operator_policy: null,
    policy: policy?.name ?? null,
    reductions: 0,
    reductions_details: { rate: 0.0 },
    state: 'running',
    type: q.type,
    vhost: q.vhostName,
  };
  const stats = messageStats(ctx, q, q.counters, 'other');
  if (stats) view.message_stats = stats;
  if (q.type === 'classic') {
    view.backing_queue_status = { mode: 'default', len: ready, version: 1, q1: 0, q2: 0, q3: 0, q4: l.resident, target_ram_count: 'infinity', avg_ingress_rate: 0.0, avg_egress_rate: 0.0, avg_ack_ingress_rate: 0.0, avg_ack_egress_rate: 0.0 };
    view.exclusive_consumer_tag = q.consumers.find((c) => c.exclusive)?.tag ?? null;
    view.head_message_timestamp = null;
    view.recoverable_slaves = null;
    view.single_active_consumer_tag = q.limits.singleActiveConsumer ? (q.consumers[0]?.tag ?? null) : null;
    if (idle !== undefined) view.idle_since = isoTime(idle);
  } else {
    view.leader = ctx.node.node;
    view.members = [ctx.node.node];
    view.online = [ctx.node.node];
    view.open_files = { [ctx.node.node]: 0 };
    if (q.type === 'quorum') {
      view.messages_dlx = 0;
      view.message_bytes_dlx = 0;
      view.single_active_consumer_ctag = q.limits.singleActiveConsumer ? (q.consumers[0]?.tag ?? null) : null;
    }
  }
  if (single) {
    view.consumer_details = consumerInfos(ctx.broker, (c) => c.queue === q).map((c) => consumerView(ctx, c));
    view.deliveries = [];
    view.incoming = [];
  }
  return view;
}

/** What /api/queues shows with disable_stats: the definition, and with enable_queue_totals the counts. */
export function queueBrief(ctx: ViewContext, q: Queue, totals: boolean): JsonObject {
  const view: JsonObject = {
    arguments: tableToJson(q.options.args),
    auto_delete: q.options.autoDelete,
    durable: q.options.durable,
    exclusive: q.options.owner !== undefined,
    name: q.name,
    state: 'live',
    type: q.type,
    vhost: q.vhostName,
  };
  if (q.type === 'classic') view.node = ctx.node.node;
  else {
    view.leader = ctx.node.node;
    view.members = [ctx.node.node];
    view.online = [ctx.node.node];
  }
  if (totals) {
    const { messages, ready, unacked } = queueLengths(q);
    Object.assign(view, { messages, messages_ready: ready, messages_unacknowledged: unacked });
  }
  return view;
}

// ---- exchanges and bindings ----

export function exchangeView(ctx: ViewContext, vhost: string, e: Exchange, single: boolean, stats = true): JsonObject {
  const view: JsonObject = {
    arguments: tableToJson(e.options.args),
    auto_delete: e.options.autoDelete,
    durable: e.options.durable,
    internal: e.options.internal,
    name: e.name,
    type: e.type,
    user_who_performed_action: e.options.createdBy ?? 'rmq-internal',
    vhost,
  };
  const messageStatsView = stats ? messageStats(ctx, e, e.counters, 'exchange') : undefined;
  if (messageStatsView) view.message_stats = messageStatsView;
  if (single) {
    view.incoming = [];
    view.outgoing = [];
  }
  return view;
}

/**
 * RabbitMQ's properties_key: the routing key URL-encoded (quote_plus, "~" as %7E), and "~" with a
 * hash of the arguments when there are any. RabbitMQ hashes the Erlang term; Warren hashes the JSON
 * (keys only ever go back to the broker that listed them).
 */
export function propertiesKey(routingKey: string, args: Record<string, unknown>): string {
  const key = encodeURIComponent(routingKey)
    .replace(/%20/g, '+')
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (Object.keys(args).length === 0) return key === '' ? '~' : key;
  let h = 0x811c9dc5;
  for (const b of Buffer.from(JSON.stringify(args))) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const hash = Buffer.alloc(4);
  hash.writeUInt32BE(h);
  return `${key}~${hash.toString('base64url')}`;
}

export function bindingView(vhost: string, b: Binding): JsonObject {
  const args = tableToJson(b.args);
  return {
    source: b.source.name,
    vhost,
    destination: b.destination.name,
    destination_type: b.destination.kind,
    routing_key: b.routingKey,
    arguments: args,
    properties_key: propertiesKey(b.routingKey, args),
  };
}

/** The default exchange's implicit binding to a queue, as RabbitMQ lists it. */
export function defaultBindingView(vhost: string, q: Queue): JsonObject {
  return { source: '', vhost, destination: q.name, destination_type: 'queue', routing_key: q.name, arguments: {}, properties_key: propertiesKey(q.name, {}) };
}

// ---- vhosts ----

export function vhostView(ctx: ViewContext, v: VirtualHost): JsonObject {
  const view: JsonObject = {
    name: v.name,
    description: v.description,
    tags: [...v.tags],
    default_queue_type: v.defaultQueueType ?? 'undefined',
    metadata: vhostMetadata(v),
    tracing: v.tracing,
    cluster_state: { [ctx.node.node]: 'running' },
  };
  const { ready, unacked } = vhostLengths(v);
  const octets = vhostOctets(ctx.broker, v);
  Object.assign(view, {
    messages: ready + unacked,
    messages_details: rate(ctx, v, 'messages'),
    messages_ready: ready,
    messages_ready_details: rate(ctx, v, 'messages_ready'),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rate(ctx, v, 'messages_unacknowledged'),
    recv_oct: octets.in,
    recv_oct_details: rate(ctx, v, 'recv_oct'),
    send_oct: octets.out,
    send_oct_details: rate(ctx, v, 'send_oct'),
  });
  const stats = messageStats(ctx, v, v.counters, 'other');
  if (stats) view.message_stats = stats;
  return view;
}

/** Ready and unacknowledged messages over a vhost's queues. */
export function vhostLengths(v: VirtualHost): { ready: number; unacked: number } {
  let ready = 0;
  let unacked = 0;
  for (const q of v.queues.values()) {
    ready += q.messageCount;
    unacked += q.unacked;
  }
  return { ready, unacked };
}

export function vhostOctets(broker: Broker, v: VirtualHost): { in: number; out: number } {
  let bytesIn = v.closedOctets.in;
  let bytesOut = v.closedOctets.out;
  for (const c of broker.connections) {
    if (c.vhost !== v.name) continue;
    bytesIn += c.bytesIn;
    bytesOut += c.bytesOut;
  }
  return { in: bytesIn, out: bytesOut };
}

// ---- connections, channels, consumers ----

export function connectionView(ctx: ViewContext, c: ClientConnection, single: boolean): JsonObject {
  const props = tableToJson(c.clientProperties);
  const name = props.connection_name;
  const empty = single ? '' : null;
  let channels = 0;
  for (const _ of c.clientChannels) channels++;
  return {
    auth_mechanism: c.authMechanism,
    channel_max: c.channelMax,
    channels,
    client_properties: props,
    connected_at: c.connectedAt,
    frame_max: c.frameMax,
    garbage_collection: GC,
    host: c.host,
    name: c.name,
    node: ctx.node.node,
    peer_cert_issuer: empty,
    peer_cert_subject: empty,
    peer_cert_validity: empty,
    peer_host: c.peerHost,
    peer_port: c.peerPort,
    port: c.port,
    protocol: 'AMQP 0-9-1',
    recv_cnt: c.reads,
    recv_oct: c.bytesIn,
    recv_oct_details: rate(ctx, c, 'recv_oct'),
    reductions: 0,
    reductions_details: { rate: 0.0 },
    send_cnt: c.writes,
    send_oct: c.bytesOut,
    send_oct_details: rate(ctx, c, 'send_oct'),
    send_pend: c.sendPending,
    ssl: c.ssl,
    ssl_cipher: empty,
    ssl_hash: empty,
    ssl_key_exchange: empty,
    ssl_protocol: empty,
    state: c.state,
    timeout: c.heartbeat,
    type: 'network',
    user: c.user,
    user_provided_name: typeof name === 'string' ? name : null,
    user_who_performed_action: c.user,
    vhost: c.vhost,
  };
}

/** RabbitMQ's name for a channel: its connection's and its number. */
export const channelName = (c: ClientConnection, ch: ClientChannel) => `${c.name} (${ch.number})`;

export function channelView(ctx: ViewContext, c: ClientConnection, ch: ClientChannel, single: boolean): JsonObject {
  const s = ch.session;
  const { perConsumer, global } = s.prefetch;
  const idle = ctx.rates.idleSince(ch);
  const view: JsonObject = {
    acks_uncommitted: ch.uncommittedAcks,
    confirm: ch.confirm,
    connection_details: { name: c.name, peer_host: c.peerHost, peer_port: c.peerPort },
    consumer_count: s.consumerCount,
    garbage_collection: GC,
    global_prefetch_count: global,
    messages_unacknowledged: s.unackedCount,
    messages_uncommitted: ch.uncommittedMessages,
    messages_unconfirmed: ch.unconfirmed,
    name: channelName(c, ch),
    node: ctx.node.node,
    number: ch.number,
    pending_raft_commands: 0,
    prefetch_count: perConsumer,
    reductions: 0,
    reductions_details: { rate: 0.0 },
    state: 'running',
    transactional: ch.transactional,
    user: c.user,
    user_who_performed_action: c.user,
    vhost: c.vhost,
  };
  if (idle !== undefined) view.idle_since = isoTime(idle);
  const stats = messageStats(ctx, ch, s.counters, 'other');
  if (stats) view.message_stats = stats;
  if (single) {
    view.consumer_details = consumerInfos(ctx.broker, (c) => c.channel === ch).map((cons) => consumerView(ctx, cons));
    view.deliveries = [];
    view.publishes = [];
  }
  return view;
}

/** A consumer with where it consumes and on which channel. */
export interface ConsumerInfo {
  readonly connection: ClientConnection;
  readonly channel: ClientChannel;
  readonly queue: Queue;
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly prefetch: number;
  readonly args: Record<string, Json>;
}

/** Every consumer of every open channel that `test` accepts. */
export function consumerInfos(broker: Broker, test: (c: ConsumerInfo) => boolean = () => true): ConsumerInfo[] {
  const out: ConsumerInfo[] = [];
  for (const connection of broker.connections) {
    for (const channel of connection.clientChannels) {
      for (const c of channel.session.consumerList) {
        const info: ConsumerInfo = { connection, channel, queue: c.queue, tag: c.tag, noAck: c.noAck, exclusive: c.exclusive, prefetch: c.prefetch, args: tableToJson(c.args) };
        if (test(info)) out.push(info);
      }
    }
  }
  return out;
}

export function consumerView(ctx: ViewContext, c: ConsumerInfo): JsonObject {
  return {
    arguments: c.args,
    ack_required: !c.noAck,
    active: true,
    activity_status: 'up',
    channel_details: {
      connection_name: c.connection.name,
      name: channelName(c.connection, c.channel),
      node: ctx.node.node,
      number: c.channel.number,
      peer_host: c.connection.peerHost,
      peer_port: c.connection.peerPort,
      user: c.connection.user,
    },
    consumer_tag: c.tag,
    exclusive: c.exclusive,
    prefetch_count: c.prefetch,
    queue: { name: c.queue.name, vhost: c.queue.vhostName },
  };
}

// ---- the node ----

export const EXCHANGE_TYPES = ['direct', 'fanout', 'headers', 'topic'].map((name) => ({
  name,
  description: `AMQP ${name} exchange, as per the AMQP specification`,
  enabled: true,
}));

export function listenersView(ctx: ViewContext): JsonObject[] {
  const out: JsonObject[] = [];
  const { amqp, http } = ctx.node;
  if (amqp) out.push({ node: ctx.node.node, protocol: 'amqp', ip_address: amqp.host, port: amqp.port, socket_opts: { backlog: 128, nodelay: true, linger: [true, 0], exit_on_close: false } });
  if (http) out.push({ node: ctx.node.node, protocol: 'http', ip_address: http.host, port: http.port, socket_opts: { port: http.port } });
  return out;
}

export function contextsView(ctx: ViewContext): JsonObject[] {
  const http = ctx.node.http;
  return http ? [{ ssl_opts: [], node: ctx.node.node, description: 'RabbitMQ Management', path: '/', ip: http.host, port: String(http.port) }] : [];
}

export function nodeView(ctx: ViewContext): JsonObject {
  const { broker } = ctx;
  const mem = process.memoryUsage.rss();
  const alarms = broker.alarms;
  return {
    name: ctx.node.node,
    type: 'disc',
    running: true,
    os_pid: String(process.pid),
    partitions: [],
    fd_total: 1048576,
    sockets_total: 943626,
    mem_used: mem,
    mem_used_details: { rate: 0.0 },
    mem_limit: Math.round(alarms.memoryLimit),
    mem_alarm: alarms.active.has('memory'),
    disk_free_limit: alarms.limits.diskFreeLimit,
    disk_free_alarm: alarms.active.has('disk'),
    disk_free: alarms.diskFree(),
    disk_free_details: { rate: 0.0 },
    proc_total: 1048576,
    rates_mode: 'basic',
    uptime: broker.clock.now() - broker.startedAt,
    run_queue: 0,
    processors: availableParallelism(),
    exchange_types: EXCHANGE_TYPES,
    auth_mechanisms: [
      { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
      { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
    ],
    applications: [{ name: 'warren', description: `Warren, an AMQP 0-9-1 broker for Node.js (Node.js ${process.version})`, version: ctx.node.warrenVersion }],
    contexts: contextsView(ctx),
    log_files: ['<stdout>'],
    db_dir: '',
    config_files: [],
    net_ticktime: 60,
    enabled_plugins: ['rabbitmq_management'],
    mem_calculation_strategy: 'rss',
    connection_created: broker.churn.connectionCreated,
    connection_created_details: rate(ctx, broker, 'connection_created'),
    connection_closed: broker.churn.connectionClosed,
    connection_closed_details: rate(ctx, broker, 'connection_closed'),
    channel_created: broker.churn.channelCreated,
    channel_created_details: rate(ctx, broker, 'channel_created'),
    channel_closed: broker.churn.channelClosed,
    channel_closed_details: rate(ctx, broker, 'channel_closed'),
    queue_declared: broker.churn.queueDeclared,
    queue_declared_details: rate(ctx, broker, 'queue_declared'),
    queue_created: broker.churn.queueCreated,
    queue_created_details: rate(ctx, broker, 'queue_created'),
    queue_deleted: broker.churn.queueDeleted,
    queue_deleted_details: rate(ctx, broker, 'queue_deleted'),
    cluster_links: [],
  };
}

export function churnView(ctx: ViewContext): JsonObject {
  const c = ctx.broker.churn;
  const out: JsonObject = {};
  for (const [name, value] of [
    ['channel_closed', c.channelClosed],
    ['channel_created', c.channelCreated],
    ['connection_closed', c.connectionClosed],
    ['connection_created', c.connectionCreated],
    ['queue_created', c.queueCreated],
    ['queue_declared', c.queueDeclared],
    ['queue_deleted', c.queueDeleted],
  ] as const) {
    out[name] = value;
    out[`${name}_details`] = rate(ctx, ctx.broker, name);
  }
  return out;
}

/** The message_stats of the whole broker (the overview's). */
export function totalStats(ctx: ViewContext): JsonObject | undefined {
  return messageStats(ctx, ctx.broker, ctx.broker.counters, 'other');
}
