// What a Warren server announces and negotiates. Defaults are RabbitMQ's.
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type { CertLoginFrom } from '../auth/certificate.js';
import { DEFAULT_ALARM_LIMITS, type AlarmLimits } from '../broker/alarms.js';

export interface ServerConfig extends AlarmLimits {
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
  /** Users who may connect only from a loopback address (RabbitMQ's loopback_users: guest). */
  loopbackUsers: readonly string[];
  /** The SASL mechanisms offered, in order (RabbitMQ's auth_mechanisms). */
  authMechanisms: readonly string[];
  /** What EXTERNAL takes from a client certificate as the user name (RabbitMQ's ssl_cert_login_from). */
  sslCertLoginFrom: CertLoginFrom;
}

/** Warren's own version, as package.json gives it (two levels up from both src/server and dist/server). */
export const WARREN_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

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
    loopbackUsers: ['guest'],
    authMechanisms: ['PLAIN', 'AMQPLAIN'],
    sslCertLoginFrom: 'distinguished_name',
    ...DEFAULT_ALARM_LIMITS,
  };
}
