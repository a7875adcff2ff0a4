// What a Warren server announces and negotiates. Defaults are RabbitMQ's.
import { hostname } from 'node:os';

export interface ServerConfig {
  /** The product name clients see; clients and their test suites check for "RabbitMQ". */
  product: string;
  /** The RabbitMQ version whose behaviour Warren follows, announced as `version`. */
  rabbitmqVersion: string;
  clusterName: string;
  channelMax: number;
  frameMax: number;
  /** Heartbeat interval offered in connection.tune, seconds. */
  heartbeat: number;
  /** Time from TCP accept to connection.open, ms (RabbitMQ's handshake_timeout). */
  handshakeTimeoutMs: number;
  /** Largest message body accepted, bytes (RabbitMQ's max_message_size). */
  maxMessageSize: number;
  /** A channel whose oldest delivery stays unacknowledged longer is closed (RabbitMQ's consumer_timeout), ms. */
  consumerTimeoutMs: number;
  /** RSS above this blocks publishers: a fraction of the machine's memory (≤ 1) or bytes (> 1). */
  memoryHighWatermark: number;
  /** Free disk space under the data directory below this (bytes) blocks publishers. */
  diskFreeLimit: number;
  alarmCheckIntervalMs: number;
}

export const WARREN_VERSION = '0.1.0';

export function defaultConfig(): ServerConfig {
  return {
    product: 'RabbitMQ',
    rabbitmqVersion: '3.10.8',
    clusterName: `warren@${hostname()}`,
    channelMax: 2047,
    frameMax: 131072,
    heartbeat: 60,
    handshakeTimeoutMs: 10000,
    maxMessageSize: 134217728,
    consumerTimeoutMs: 1800000,
    memoryHighWatermark: 0.4,
    diskFreeLimit: 50_000_000,
    alarmCheckIntervalMs: 1000,
  };
}
