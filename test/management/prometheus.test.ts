// rabbitmq_prometheus's endpoints: /metrics, /metrics/per-object and /metrics/detailed, read with a
// Prometheus text-format parser. Runs against Warren or, with AMQP_URL and RABBITMQ_PROMETHEUS_URL
// (e.g. http://127.0.0.1:15692/metrics with the plugin enabled), against a real RabbitMQ.
import amqp from 'amqplib';
import { randomBytes } from 'node:crypto';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBroker, type TestBroker } from '../support/broker.js';
import { rawGet } from '../support/management.js';

let broker: TestBroker;
const id = randomBytes(3).toString('hex');
const queue = `prom-${id}`;
let conn: amqp.ChannelModel;

const external = process.env.AMQP_URL !== undefined;
if (external && !process.env.RABBITMQ_PROMETHEUS_URL) console.warn('Prometheus tests skipped: AMQP_URL is set but RABBITMQ_PROMETHEUS_URL is not');

interface Metric {
  value: string;
  labels?: Record<string, string>;
}
interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: Metric[];
}

async function scrape(path = ''): Promise<{ text: string; families: Map<string, ParsedFamily> }> {
  const res = await fetch(`${broker.prometheusUrl}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  return { text, families: new Map((parsePrometheus(text) as ParsedFamily[]).map((f) => [f.name, f])) };
}

/** Until `done` holds for a scrape (RabbitMQ collects its figures every few seconds; Warren at once). */
async function until(path: string, done: (f: Map<string, ParsedFamily>) => boolean) {
  const deadline = Date.now() + (broker.embedded ? 0 : 15_000);
  for (;;) {
    const { families } = await scrape(path);
    if (done(families) || Date.now() >= deadline) return families;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const value = (f: ParsedFamily | undefined, labels: Record<string, string> = {}) =>
  Number(f?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? NaN);

describe.skipIf(external && !process.env.RABBITMQ_PROMETHEUS_URL)('Prometheus metrics', () => {
  beforeAll(async () => {
    broker = await testBroker({ prometheus: true });
    conn = await amqp.connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: false });
    for (let i = 0; i < 3; i++) ch.sendToQueue(queue, Buffer.from('12345'));
    await ch.waitForConfirms();
    await ch.consume(`${queue}`, () => {}, { noAck: false, consumerTag: `c-${id}` });
  });
  afterAll(async () => {
    await conn?.close();
    await broker?.close();
  });

  it('serves the aggregated families with rabbitmq_prometheus names, types and HELP texts', async () => {
    const { families } = await scrape();
    const expected: [string, string, string][] = [
      ['rabbitmq_build_info', 'UNTYPED', 'RabbitMQ & Erlang/OTP version info'],
      ['rabbitmq_identity_info', 'UNTYPED', 'RabbitMQ node & cluster identity info'],
      ['rabbitmq_connections', 'GAUGE', 'Connections currently open'],
      ['rabbitmq_connections_opened_total', 'COUNTER', 'Total number of connections opened'],
      ['rabbitmq_connections_closed_total', 'COUNTER', 'Total number of connections closed or terminated'],
      ['rabbitmq_channels', 'GAUGE', 'Channels currently open'],
      ['rabbitmq_queues', 'GAUGE', 'Queues available'],
      ['rabbitmq_queue_messages', 'GAUGE', 'Sum of ready and unacknowledged messages - total queue depth'],
      ['rabbitmq_queue_messages_ready', 'GAUGE', 'Messages ready to be delivered to consumers'],
      ['rabbitmq_queue_messages_unacked', 'GAUGE', 'Messages delivered to consumers but not yet acknowledged'],
      ['rabbitmq_queue_messages_bytes', 'GAUGE', 'Size in bytes of ready and unacknowledged messages'],
      ['rabbitmq_queue_consumers', 'GAUGE', 'Consumers on a queue'],
      ['rabbitmq_global_messages_received_total', 'COUNTER', 'Total number of messages received from publishers'],
      ['rabbitmq_global_messages_routed_total', 'COUNTER', 'Total number of messages routed to queues or streams'],
      ['rabbitmq_global_messages_delivered_total', 'COUNTER', 'Total number of messages delivered to consumers'],
      ['rabbitmq_global_messages_acknowledged_total', 'COUNTER', 'Total number of messages acknowledged by consumers'],
      ['rabbitmq_global_messages_confirmed_total', 'COUNTER', 'Total number of messages confirmed to publishers'],
      ['rabbitmq_global_messages_redelivered_total', 'COUNTER', 'Total number of messages redelivered to consumers'],
      ['rabbitmq_global_messages_unroutable_dropped_total', 'COUNTER', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable'],
      ['rabbitmq_global_messages_unroutable_returned_total', 'COUNTER', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable'],
      ['rabbitmq_global_messages_dead_lettered_expired_total', 'COUNTER', 'Total number of messages dead-lettered due to message TTL exceeded'],
      ['rabbitmq_global_messages_dead_lettered_maxlen_total', 'COUNTER', 'Total number of messages dead-lettered due to overflow drop-head or reject-publish-dlx'],
      ['rabbitmq_global_messages_dead_lettered_rejected_total', 'COUNTER', 'Total number of messages dead-lettered due to basic.reject or basic.nack'],
      ['rabbitmq_connection_incoming_bytes_total', 'COUNTER', 'Total number of bytes received on a connection'],
      ['rabbitmq_connection_outgoing_bytes_total', 'COUNTER', 'Total number of bytes sent on a connection'],
      ['rabbitmq_alarms_memory_used_watermark', 'UNTYPED', 'is 1 if VM memory watermark alarm is in effect'],
      ['rabbitmq_alarms_free_disk_space_watermark', 'UNTYPED', 'is 1 if free disk space watermark alarm is in effect'],
    ];
    for (const [name, type, help] of expected) expect({ name, type: families.get(name)?.type, help: families.get(name)?.help }).toEqual({ name, type, help });
    expect(families.get('rabbitmq_build_info')!.metrics[0].labels).toMatchObject({ rabbitmq_version: '3.10.8' });
    expect(Object.keys(families.get('rabbitmq_identity_info')!.metrics[0].labels!)).toEqual(['rabbitmq_node', 'rabbitmq_cluster', 'rabbitmq_cluster_permanent_id']);
    expect(families.get('rabbitmq_global_messages_received_total')!.metrics[0].labels).toEqual({ protocol: 'amqp091' });
    expect(families.get('rabbitmq_global_messages_delivered_total')!.metrics.map((m) => m.labels!.queue_type)).toEqual(['rabbit_classic_queue', 'rabbit_quorum_queue', 'rabbit_stream_queue']);
  });

  it('counts what was published, consumed and is open', async () => {
    const families = await until('', (f) => value(f.get('rabbitmq_queue_messages_unacked')) >= 3);
    expect(value(families.get('rabbitmq_connections'))).toBeGreaterThanOrEqual(1);
    expect(value(families.get('rabbitmq_channels'))).toBeGreaterThanOrEqual(1);
    expect(value(families.get('rabbitmq_queue_messages_unacked'))).toBeGreaterThanOrEqual(3);
    expect(value(families.get('rabbitmq_global_messages_received_total'), { protocol: 'amqp091' })).toBeGreaterThanOrEqual(3);
    expect(value(families.get('rabbitmq_global_messages_confirmed_total'), { protocol: 'amqp091' })).toBeGreaterThanOrEqual(3);
    expect(value(families.get('rabbitmq_global_messages_delivered_consume_manual_ack_total'), { queue_type: 'rabbit_classic_queue' })).toBeGreaterThanOrEqual(3);
    expect(value(families.get('rabbitmq_connection_incoming_bytes_total'))).toBeGreaterThan(0);
  });

  it('labels queues by vhost and queue at /metrics/per-object', async () => {
    const labels = { vhost: '/', queue };
    const families = await until('/per-object', (f) => value(f.get('rabbitmq_queue_messages'), labels) === 3 && value(f.get('rabbitmq_queue_consumers'), labels) === 1);
    expect(value(families.get('rabbitmq_queue_messages'), labels)).toBe(3);
    expect(value(families.get('rabbitmq_queue_messages_unacked'), labels)).toBe(3);
    expect(value(families.get('rabbitmq_queue_messages_ready'), labels)).toBe(0);
    expect(value(families.get('rabbitmq_queue_consumers'), labels)).toBe(1);
    expect(value(families.get('rabbitmq_queue_messages_bytes'), labels)).toBe(15);
  });

  it('answers a request target no URL parser takes with 400, and goes on serving', async () => {
    expect((await rawGet(broker.prometheusUrl!, '//%%')).status).toBe(400);
    await scrape();
  });

  it('serves only the families asked for at /metrics/detailed, limited to the vhost', async () => {
    const families = await until('/detailed?family=queue_coarse_metrics&vhost=%2F', (f) => value(f.get('rabbitmq_detailed_queue_messages'), { vhost: '/', queue }) === 3);
    expect([...families.keys()].filter((n) => n.startsWith('rabbitmq_detailed_'))).toEqual(expect.arrayContaining(['rabbitmq_detailed_queue_messages_ready', 'rabbitmq_detailed_queue_messages_unacked', 'rabbitmq_detailed_queue_messages']));
    expect(families.has('rabbitmq_queue_messages')).toBe(false);
    expect(value(families.get('rabbitmq_detailed_queue_messages'), { vhost: '/', queue })).toBe(3);
    expect(families.has('rabbitmq_identity_info')).toBe(true);
    const other = await scrape('/detailed?family=queue_coarse_metrics&vhost=no-such-vhost');
    expect(other.families.get('rabbitmq_detailed_queue_messages')?.metrics ?? []).toEqual([]);
  });
});
