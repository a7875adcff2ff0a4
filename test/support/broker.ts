// Where tests connect: the broker named by AMQP_URL (a real RabbitMQ, to check our expectations), or a
// Warren started in this process.
import { startBroker, type BrokerOptions, type RunningBroker } from '../../src/index.js';

export interface TestBroker {
  url: string;
  host: string;
  port: number;
  /** True when the tests run against Warren in this process. */
  embedded: boolean;
  /** The management API's base URL (no credentials): RABBITMQ_MGMT_URL's, or Warren's when asked for. */
  managementUrl: string | undefined;
  /** rabbitmq_prometheus's /metrics: RABBITMQ_PROMETHEUS_URL's (when set), or Warren's when asked for. */
  prometheusUrl: string | undefined;
  /** Users and permissions, through Warren's API or RabbitMQ's management HTTP API. */
  admin: Admin;
  close(): Promise<void>;
}

export interface Admin {
  addUser(name: string, password: string, tags?: string[]): Promise<void>;
  setPermissions(user: string, vhost: string, p: { configure: string; write: string; read: string }): Promise<void>;
  deleteUser(name: string): Promise<void>;
}

/** The real RabbitMQ's management API that goes with AMQP_URL (rabbitmq-local's by default). */
const externalManagementUrl = () => process.env.RABBITMQ_MGMT_URL ?? 'http://127.0.0.1:15682';

/** RabbitMQ's management API, at RABBITMQ_MGMT_URL. */
function managementAdmin(): Admin {
  const base = externalManagementUrl();
  const call = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${base}/api/${path}`, {
      method,
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    if (!res.ok && res.status !== 404) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  };
  return {
    addUser: (name, password, tags = []) => call('PUT', `users/${encodeURIComponent(name)}`, { password, tags: tags.join(',') }),
    setPermissions: (user, vhost, p) => call('PUT', `permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, p),
    deleteUser: (name) => call('DELETE', `users/${encodeURIComponent(name)}`),
  };
}

export async function testBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const external = process.env.AMQP_URL;
  if (external) {
    const u = new URL(external);
    return { url: external, host: u.hostname, port: Number(u.port || 5672), embedded: false, managementUrl: externalManagementUrl(), prometheusUrl: process.env.RABBITMQ_PROMETHEUS_URL, admin: managementAdmin(), close: async () => {} };
  }
  const broker: RunningBroker = await startBroker(options);
  const { users, permissions } = broker.broker;
  const admin: Admin = {
    addUser: async (name, password, tags = []) => void users.add(name, password, tags),
    setPermissions: async (user, vhost, p) => permissions.set(user, vhost, p),
    deleteUser: async (name) => {
      users.delete(name);
      permissions.clearUser(name);
    },
  };
  const managementUrl = broker.managementUrl?.replace(/\/\/[^@]*@/, '//');
  // with the trailing slash AMQP_URL has, which the tests append vhost names to
  return { url: `${broker.url}/`, host: broker.host, port: broker.port, embedded: true, managementUrl, prometheusUrl: broker.prometheusUrl, admin, close: () => broker.close() };
}
