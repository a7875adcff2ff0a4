// rabbitmq_prometheus for what Warren tracks: /metrics (aggregated), /metrics/per-object (labelled by
// vhost and queue, or connection and channel) and /metrics/detailed?family=…&vhost=… on their own
// port (15692), in the Prometheus text format with rabbitmq_prometheus's names, HELP texts and labels.
// Everything is read at scrape time from the broker's counters: nothing is added to the message path.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Broker } from '../broker/broker.js';
import type { Queue } from '../broker/queue.js';
import { MessageCounters, type CounterKey } from '../broker/observation.js';
import { bind, requestUrl } from './listen.js';
import type { NodeInfo } from './views.js';

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
}
interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'untyped';
  help: string;
  samples: Sample[];
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** The text format as rabbitmq_prometheus writes it: TYPE, then HELP, then the samples. */
export function render(families: Family[]): string {
  let out = '';
  for (const f of families) {
    out += `# TYPE ${f.name} ${f.type}\n# HELP ${f.name} ${f.help}\n`;
    for (const s of f.samples) {
      const labels = s.labels ? `{${Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}` : '';
      out += `${f.name}${labels} ${s.value}\n`;
    }
  }
  return out;
}

const QUEUE_TYPES = { classic: 'rabbit_classic_queue', quorum: 'rabbit_quorum_queue', stream: 'rabbit_stream_queue' } as const;
const PROTOCOL = { protocol: 'amqp091' };

/** The node's counters over every vhost, and the same by queue type (deliveries are counted per queue). */
function totals(broker: Broker): { all: MessageCounters; byType: Record<keyof typeof QUEUE_TYPES, MessageCounters> } {
  const all = new MessageCounters();
  const byType = { classic: new MessageCounters(), quorum: new MessageCounters(), stream: new MessageCounters() };
  for (const name of broker.vhostNames) {
    const v = broker.vhost(name)!;
    all.add(v.counters);
    for (const q of v.queues.values()) byType[q.type].add(q.counters);
  }
  return { all, byType };
}

function byQueueType(help: string, name: string, counters: Record<keyof typeof QUEUE_TYPES, MessageCounters>, keys: CounterKey[]): Family {
  return {
    name,
    type: 'counter',
    help,
    samples: (Object.keys(QUEUE_TYPES) as (keyof typeof QUEUE_TYPES)[]).map((t) => ({ labels: { ...PROTOCOL, queue_type: QUEUE_TYPES[t] }, value: keys.reduce((n, k) => n + counters[t][k], 0) })),
  };
}

const DEAD_LETTER_HELP: Readonly<Record<string, string>> = {
  expired: 'Total number of messages dead-lettered due to message TTL exceeded',
  maxlen: 'Total number of messages dead-lettered due to overflow drop-head or reject-publish-dlx',
  rejected: 'Total number of messages dead-lettered due to basic.reject or basic.nack',
  delivery_limit: 'Total number of messages dead-lettered due to delivery-limit exceeded',
};

function deadLettered(broker: Broker): Family[] {
  const count = (key: string) => broker.vhostNames.reduce((n, v) => n + (broker.vhost(v)!.deadLetterCounts.get(key) ?? 0), 0);
  return Object.entries(DEAD_LETTER_HELP).map(([reason, help]) => {
    const types = reason === 'delivery_limit' ? (['quorum'] as const) : (['classic', 'quorum'] as const);
    const samples = types.flatMap((t) =>
      (['at_most_once', 'disabled'] as const).map((strategy) => ({ labels: { queue_type: QUEUE_TYPES[t], dead_letter_strategy: strategy }, value: count(`${t}:${reason}:${strategy}`) })),
    );
    return { name: `rabbitmq_global_messages_dead_lettered_${reason}_total`, type: 'counter', help, samples };
  });
}

interface QueueRow {
  labels: Labels;
  q: Queue;
}

/** The queue gauges, one sample per queue (`perObject`) or summed. */
function queueFamilies(rows: QueueRow[], perObject: boolean, prefix = 'rabbitmq_'): Family[] {
  const gauge = (name: string, help: string, value: (q: Queue) => number): Family => ({
    name: `${prefix}${name}`,
    type: name.endsWith('_total') ? 'counter' : 'gauge',
    help,
    samples: perObject ? rows.map((r) => ({ labels: r.labels, value: value(r.q) })) : [{ value: rows.reduce((n, r) => n + value(r.q), 0) }],
  });
  return [
    gauge('queue_messages_ready', 'Messages ready to be delivered to consumers', (q) => q.messageCount),
    gauge('queue_messages_unacked', 'Messages delivered to consumers but not yet acknowledged', (q) => q.unacked),
    gauge('queue_messages', 'Sum of ready and unacknowledged messages - total queue depth', (q) => q.messageCount + q.unacked),
    gauge('queue_consumers', 'Consumers on a queue', (q) => q.consumerCount),
    gauge('queue_messages_bytes', 'Size in bytes of ready and unacknowledged messages', (q) => q.lengths.readyBytes + q.unackedBytes),
    gauge('queue_messages_ready_bytes', 'Size in bytes of ready messages', (q) => q.lengths.readyBytes),
    gauge('queue_messages_unacked_bytes', 'Size in bytes of all unacknowledged messages', (q) => q.unackedBytes),
    gauge('queue_messages_paged_out', 'Messages paged out to disk', (q) => q.lengths.pagedOut),
    gauge('queue_messages_paged_out_bytes', 'Size in bytes of messages paged out to disk', (q) => q.lengths.pagedOutBytes),
    gauge('queue_messages_published_total', 'Total number of messages published to queues', (q) => q.counters.published),
  ];
}

function queueRows(broker: Broker, vhosts?: readonly string[]): QueueRow[] {
  return (vhosts ?? broker.vhostNames).flatMap((vhost) => [...(broker.vhost(vhost)?.queues.values() ?? [])].map((q) => ({ labels: { vhost, queue: q.name }, q })));
}

/** Connection and channel figures, one sample per connection and channel (`perObject`) or summed. */
function connectionFamilies(broker: Broker, perObject: boolean): Family[] {
  const connections = [...broker.connections];
  const channels = connections.flatMap((c) => [...c.clientChannels].map((ch) => ({ c, ch })));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const byConnection = (name: string, type: Family['type'], help: string, value: (c: (typeof connections)[number]) => number): Family => ({
    name,
    type,
    help,
    samples: perObject ? connections.map((c) => ({ labels: { channel: c.name }, value: value(c) })) : [{ value: sum(connections.map(value)) }],
  });
  const byChannel = (name: string, type: Family['type'], help: string, value: (x: (typeof channels)[number]) => number): Family => ({
    name,
    type,
    help,
    samples: perObject ? channels.map((x) => ({ labels: { channel: `${x.c.name} (${x.ch.number})` }, value: value(x) })) : [{ value: sum(channels.map(value)) }],
  });
  return [
    byConnection('rabbitmq_connection_incoming_bytes_total', 'counter', 'Total number of bytes received on a connection', (c) => c.bytesIn),
    byConnection('rabbitmq_connection_outgoing_bytes_total', 'counter', 'Total number of bytes sent on a connection', (c) => c.bytesOut),
    byConnection('rabbitmq_connection_incoming_packets_total', 'counter', 'Total number of packets received on a connection', (c) => c.reads),
    byConnection('rabbitmq_connection_outgoing_packets_total', 'counter', 'Total number of packets sent on a connection', (c) => c.writes),
    byConnection('rabbitmq_connection_pending_packets', 'gauge', 'Number of packets waiting to be sent on a connection', (c) => (c.sendPending > 0 ? 1 : 0)),
    byConnection('rabbitmq_connection_channels', 'gauge', 'Channels on a connection', (c) => [...c.clientChannels].length),
    byChannel('rabbitmq_channel_consumers', 'gauge', 'Consumers on a channel', (x) => x.ch.session.consumerCount),
    byChannel('rabbitmq_channel_messages_unacked', 'gauge', 'Delivered but not yet acknowledged messages', (x) => [...x.ch.session.unacked].length),
    byChannel('rabbitmq_channel_messages_unconfirmed', 'gauge', 'Published but not yet confirmed messages', (x) => x.ch.unconfirmed),
    byChannel('rabbitmq_channel_messages_published_total', 'counter', 'Total number of messages published into an exchange on a channel', (x) => x.ch.session.counters.published),
    byChannel('rabbitmq_channel_messages_confirmed_total', 'counter', 'Total number of messages published into an exchange and confirmed on the channel', (x) => x.ch.session.counters.confirmed),
    byChannel('rabbitmq_channel_messages_delivered_ack_total', 'counter', 'Total number of messages delivered to consumers in manual acknowledgement mode', (x) => x.ch.session.counters.delivered),
    byChannel('rabbitmq_channel_messages_delivered_total', 'counter', 'Total number of messages delivered to consumers in automatic acknowledgement mode', (x) => x.ch.session.counters.deliveredNoAck),
    byChannel('rabbitmq_channel_messages_redelivered_total', 'counter', 'Total number of messages redelivered to consumers', (x) => x.ch.session.counters.redelivered),
    byChannel('rabbitmq_channel_messages_acked_total', 'counter', 'Total number of messages acknowledged by consumers', (x) => x.ch.session.counters.acked),
  ];
}

function identity(broker: Broker, node: Omit<NodeInfo, 'http'>): Family[] {
  return [
    {
      name: 'rabbitmq_build_info',
      type: 'untyped',
      help: 'RabbitMQ & Erlang/OTP version info',
      // no Erlang here: the runtime is named instead, so dashboards show what runs
      samples: [{ labels: { rabbitmq_version: node.version, prometheus_plugin_version: node.version, prometheus_client_version: '4.9.1', erlang_version: `none (Warren ${node.warrenVersion}, Node.js ${process.version})` }, value: 1 }],
    },
    {
      name: 'rabbitmq_identity_info',
      type: 'untyped',
      help: 'RabbitMQ node & cluster identity info',
      samples: [{ labels: { rabbitmq_node: node.node, rabbitmq_cluster: node.clusterName, rabbitmq_cluster_permanent_id: `rabbitmq-cluster-id-${broker.startedAt.toString(36)}` }, value: 1 }],
    },
  ];
}

/** /metrics (perObject false) and /metrics/per-object. */
export function metrics(broker: Broker, node: Omit<NodeInfo, 'http'>, perObject: boolean): string {
  const { all, byType } = totals(broker);
  const churn = broker.churn;
  const alarms = broker.activeAlarms;
  const consumers = broker.vhostNames.reduce((n, v) => n + [...broker.vhost(v)!.queues.values()].reduce((m, q) => m + q.consumerCount, 0), 0);
  const queues = broker.vhostNames.reduce((n, v) => n + broker.vhost(v)!.queues.size, 0);
  const channels = [...broker.connections].reduce((n, c) => n + [...c.clientChannels].length, 0);
  const memoryLimit = broker.alarms.memoryLimit;
  const one = (name: string, type: Family['type'], help: string, value: number, labels?: Labels): Family => ({ name, type, help, samples: [{ labels, value }] });
  const families: Family[] = [
    one('rabbitmq_alarms_free_disk_space_watermark', 'untyped', 'is 1 if free disk space watermark alarm is in effect', alarms.has('disk') ? 1 : 0),
    one('rabbitmq_alarms_memory_used_watermark', 'untyped', 'is 1 if VM memory watermark alarm is in effect', alarms.has('memory') ? 1 : 0),
    one('rabbitmq_connections_opened_total', 'counter', 'Total number of connections opened', churn.connectionCreated),
    one('rabbitmq_connections_closed_total', 'counter', 'Total number of connections closed or terminated', churn.connectionClosed),
    one('rabbitmq_channels_opened_total', 'counter', 'Total number of channels opened', churn.channelCreated),
    one('rabbitmq_channels_closed_total', 'counter', 'Total number of channels closed', churn.channelClosed),
    one('rabbitmq_queues_declared_total', 'counter', 'Total number of queues declared', churn.queueDeclared),
    one('rabbitmq_queues_created_total', 'counter', 'Total number of queues created', churn.queueCreated),
    one('rabbitmq_queues_deleted_total', 'counter', 'Total number of queues deleted', churn.queueDeleted),
    one('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', process.memoryUsage.rss()),
    one('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', memoryLimit),
    one('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', broker.alarms.limits.diskFreeLimit),
    ...queueFamilies(queueRows(broker), perObject),
    ...connectionFamilies(broker, perObject),
    one('rabbitmq_connections', 'gauge', 'Connections currently open', broker.connections.size),
    one('rabbitmq_channels', 'gauge', 'Channels currently open', channels),
    one('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers),
    one('rabbitmq_queues', 'gauge', 'Queues available', queues),
    ...identity(broker, node),
    one('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', consumers, PROTOCOL),
    byQueueType('Total number of messages acknowledged by consumers', 'rabbitmq_global_messages_acknowledged_total', byType, ['acked']),
    one('rabbitmq_global_messages_confirmed_total', 'counter', 'Total number of messages confirmed to publishers', all.confirmed, PROTOCOL),
    ...deadLettered(broker),
    byQueueType('Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', 'rabbitmq_global_messages_delivered_consume_auto_ack_total', byType, ['deliveredNoAck']),
    byQueueType('Total number of messages delivered to consumers using basic.consume with manual acknowledgment', 'rabbitmq_global_messages_delivered_consume_manual_ack_total', byType, ['delivered']),
    byQueueType('Total number of messages delivered to consumers using basic.get with automatic acknowledgment', 'rabbitmq_global_messages_delivered_get_auto_ack_total', byType, ['gotNoAck']),
    byQueueType('Total number of messages delivered to consumers using basic.get with manual acknowledgment', 'rabbitmq_global_messages_delivered_get_manual_ack_total', byType, ['got']),
    byQueueType('Total number of messages delivered to consumers', 'rabbitmq_global_messages_delivered_total', byType, ['delivered', 'deliveredNoAck', 'got', 'gotNoAck']),
    one('rabbitmq_global_messages_get_empty_total', 'counter', 'Total number of times basic.get operations fetched no message', all.gotEmpty, { ...PROTOCOL, queue_type: QUEUE_TYPES.classic }),
    one('rabbitmq_global_messages_received_confirm_total', 'counter', 'Total number of messages received from publishers expecting confirmations', all.confirmed + all.nacked, PROTOCOL),
    one('rabbitmq_global_messages_received_total', 'counter', 'Total number of messages received from publishers', all.published, PROTOCOL),
    byQueueType('Total number of messages redelivered to consumers', 'rabbitmq_global_messages_redelivered_total', byType, ['redelivered']),
    one('rabbitmq_global_messages_routed_total', 'counter', 'Total number of messages routed to queues or streams', all.routed, PROTOCOL),
    one('rabbitmq_global_messages_unroutable_dropped_total', 'counter', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', all.unroutableDropped, PROTOCOL),
    one('rabbitmq_global_messages_unroutable_returned_total', 'counter', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', all.unroutableReturned, PROTOCOL),
  ];
  return render(families);
}

/** The families /metrics/detailed serves, by rabbitmq_prometheus's family names. */
const DETAILED: Readonly<Record<string, (broker: Broker, vhosts: string[] | undefined) => Family[]>> = {
  queue_coarse_metrics: (b, v) => queueFamilies(queueRows(b, v), true, 'rabbitmq_detailed_').filter((f) => /_(messages_ready|messages_unacked|messages)$/.test(f.name)),
  queue_consumer_count: (b, v) => queueFamilies(queueRows(b, v), true, 'rabbitmq_detailed_').filter((f) => f.name.endsWith('_queue_consumers')),
  queue_metrics: (b, v) => queueFamilies(queueRows(b, v), true, 'rabbitmq_detailed_').filter((f) => /bytes|paged_out|published/.test(f.name)),
  connection_churn_metrics: (b) => [
    { name: 'rabbitmq_detailed_connections_opened_total', type: 'counter', help: 'Total number of connections opened', samples: [{ value: b.churn.connectionCreated }] },
    { name: 'rabbitmq_detailed_connections_closed_total', type: 'counter', help: 'Total number of connections closed or terminated', samples: [{ value: b.churn.connectionClosed }] },
    { name: 'rabbitmq_detailed_channels_opened_total', type: 'counter', help: 'Total number of channels opened', samples: [{ value: b.churn.channelCreated }] },
    { name: 'rabbitmq_detailed_channels_closed_total', type: 'counter', help: 'Total number of channels closed', samples: [{ value: b.churn.channelClosed }] },
    { name: 'rabbitmq_detailed_queues_declared_total', type: 'counter', help: 'Total number of queues declared', samples: [{ value: b.churn.queueDeclared }] },
    { name: 'rabbitmq_detailed_queues_created_total', type: 'counter', help: 'Total number of queues created', samples: [{ value: b.churn.queueCreated }] },
    { name: 'rabbitmq_detailed_queues_deleted_total', type: 'counter', help: 'Total number of queues deleted', samples: [{ value: b.churn.queueDeleted }] },
  ],
};

/** /metrics/detailed: only the families asked for (none: nothing but the identity), in the vhosts asked for. */
export function detailedMetrics(broker: Broker, node: Omit<NodeInfo, 'http'>, query: URLSearchParams): string {
  const vhosts = query.getAll('vhost');
  const families = query.getAll('family').flatMap((f) => DETAILED[f]?.(broker, vhosts.length > 0 ? vhosts : undefined) ?? []);
  return render([...families, ...identity(broker, node)]);
}

/** The listener on the Prometheus port. */
export class PrometheusServer {
  private readonly http: Server;

  constructor(
    private readonly broker: Broker,
    private readonly node: Omit<NodeInfo, 'http'>,
  ) {
    this.http = createServer((req, res) => this.serve(req, res));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return bind(this.http, port, host);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = requestUrl(req);
    if (!url) {
      res.writeHead(400).end();
      return;
    }
    let body: string | undefined;
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url.pathname === '/metrics') body = metrics(this.broker, this.node, false);
      else if (url.pathname === '/metrics/per-object') body = metrics(this.broker, this.node, true);
      else if (url.pathname === '/metrics/detailed') body = detailedMetrics(this.broker, this.node, url.searchParams);
    } catch (err) {
      this.broker.logger.error({ err, path: url.pathname }, 'metrics could not be rendered');
      res.writeHead(500).end();
      return;
    }
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(req.method === 'HEAD' ? undefined : body);
  }
}
