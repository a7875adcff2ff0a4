// The warren command's settings: every rabbitmq.conf key, RabbitMQ's environment variables and
// Warren's WARREN_* ones, their precedence (flags, environment, file), and the errors for unknown
// keys and bad values.
import { totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultSettings, printConfig, resolveSettings, type Flags } from '../../src/cli/settings.js';

/** Settings from a rabbitmq.conf text (as /conf/rabbitmq.conf), with flags and environment. */
function resolve(conf: string | undefined, env: NodeJS.ProcessEnv = {}, flags: Flags = {}) {
  const files: Record<string, string> = conf === undefined ? {} : { '/conf/rabbitmq.conf': conf };
  const read = (p: string) => {
    if (!(p in files)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return files[p];
  };
  return resolveSettings(conf === undefined ? flags : { config: '/conf/rabbitmq.conf', ...flags }, env, read);
}
const settingsOf = (conf: string) => resolve(conf).settings;

describe('rabbitmq.conf', () => {
  it.each([
    ['listeners.tcp.default = 5673', { port: 5673 }],
    ['listeners.tcp.default = 0.0.0.0:5674', { host: '0.0.0.0', port: 5674 }],
    ['listeners.tcp.default = ::1:5675', { host: '::1', port: 5675 }],
    ['default_user = app', { defaultUser: 'app' }],
    ['default_pass = s3cret', { defaultPass: 's3cret' }],
    ['default_vhost = apps', { defaultVhost: 'apps' }],
    ['default_permissions.configure = ^app-', { defaultPermissions: { configure: '^app-', write: '.*', read: '.*' } }],
    ['default_permissions.write = ^w', { defaultPermissions: { configure: '.*', write: '^w', read: '.*' } }],
    ['default_permissions.read = ^r', { defaultPermissions: { configure: '.*', write: '.*', read: '^r' } }],
    // set key by key, a list replaces RabbitMQ's default one
    ['default_user_tags.monitoring = true', { defaultUserTags: ['monitoring'] }],
    ['default_user_tags.administrator = false', { defaultUserTags: [] }],
    ['loopback_users = none', { loopbackUsers: [] }],
    ['loopback_users.guest = false', { loopbackUsers: [] }],
    ['loopback_users.admin = true', { loopbackUsers: ['admin'] }],
    ['management.tcp.port = 15673', { managementPort: 15673 }],
    ['management.tcp.ip = 0.0.0.0', { managementHost: '0.0.0.0' }],
    ['prometheus.tcp.port = 15692', { prometheusPort: 15692 }],
    ['vm_memory_high_watermark.relative = 0.6', { memoryHighWatermark: 0.6 }],
    ['vm_memory_high_watermark.absolute = 2GiB', { memoryHighWatermark: 2 * 1024 ** 3 }],
    ['vm_memory_high_watermark.absolute = 1073741824', { memoryHighWatermark: 1073741824 }],
    ['disk_free_limit.absolute = 2GB', { diskFreeLimit: 2e9 }],
    ['disk_free_limit.absolute = 500MiB', { diskFreeLimit: 500 * 1024 ** 2 }],
    ['disk_free_limit.relative = 1.5', { diskFreeLimit: Math.round(1.5 * totalmem()) }],
    ['heartbeat = 30', { heartbeat: 30 }],
    ['frame_max = 8192', { frameMax: 8192 }],
    ['channel_max = 100', { channelMax: 100 }],
    ['max_message_size = 1048576', { maxMessageSize: 1048576 }],
    ['consumer_timeout = 900000', { consumerTimeoutMs: 900000 }],
    ['handshake_timeout = 5000', { handshakeTimeoutMs: 5000 }],
    ['auth_mechanisms.1 = PLAIN', { authMechanisms: ['PLAIN'] }],
    ['listeners.ssl.default = 5679\nssl_options.certfile = /c.pem\nssl_options.keyfile = /k.pem', { tlsPort: 5679, tlsCert: '/c.pem', tlsKey: '/k.pem' }],
    ['ssl_options.certfile = /c.pem\nssl_options.keyfile = /k.pem', { tlsPort: 5671 }],
    ['ssl_options.cacertfile = /ca.pem\nssl_options.certfile = /c.pem\nssl_options.keyfile = /k.pem', { tlsCa: '/ca.pem' }],
    ['ssl_options.verify = verify_peer', { tlsVerify: true }],
    ['ssl_options.fail_if_no_peer_cert = true', { tlsFailIfNoPeerCert: true }],
    ['ssl_cert_login_from = common_name', { sslCertLoginFrom: 'common_name' }],
    ['management.ssl.port = 15671\nmanagement.ssl.certfile = /m.pem\nmanagement.ssl.keyfile = /m.key\nmanagement.ssl.cacertfile = /ca.pem', { managementPort: 15671, managementTlsCert: '/m.pem', managementTlsKey: '/m.key', managementTlsCa: '/ca.pem' }],
    ['ssl_options.certfile = /c.pem\nssl_options.keyfile = /k.pem\nauth_mechanisms.1 = EXTERNAL\nauth_mechanisms.2 = PLAIN', { authMechanisms: ['EXTERNAL', 'PLAIN'] }],
    ['load_definitions = /etc/rabbitmq/definitions.json', { definitions: '/etc/rabbitmq/definitions.json' }],
    ['log.console.level = warning', { logLevel: 'warn' }],
    ['log.console.level = none', { logLevel: 'silent' }],
    ['log.file = /var/log/warren.log', { logFile: '/var/log/warren.log' }],
    ['log.file = false', { logFile: undefined }],
  ])('reads %s', (line, expected) => {
    expect(settingsOf(`# a comment\n\n${line}\n`)).toMatchObject(expected);
  });

  it.each([
    ['foo.bar = 1', /^rabbitmq\.conf line 1: unknown key 'foo\.bar' \(Warren reads listeners\.tcp\.default, default_user, .*log\.file\)$/],
    ['heartbeat = soon', /^rabbitmq\.conf line 1 \(heartbeat = soon\): an integer from 0 to 65535 is expected$/],
    ['frame_max = 100', /^rabbitmq\.conf line 1 \(frame_max = 100\): an integer from 4096 to 4294967295 is expected$/],
    ['listeners.tcp.default = 70000', /^rabbitmq\.conf line 1 \(listeners\.tcp\.default = 70000\): a port is a number from 0 to 65535$/],
    ['disk_free_limit.absolute = 5 parsecs', /^rabbitmq\.conf line 1 \(disk_free_limit\.absolute = 5 parsecs\): a size in bytes is expected, optionally with a unit/],
    ['vm_memory_high_watermark.relative = -1', /^rabbitmq\.conf line 1 \(vm_memory_high_watermark\.relative = \-1\): a positive number is expected$/],
    ['loopback_users.guest = maybe', /^rabbitmq\.conf line 1 \(loopback_users\.guest = maybe\): true or false is expected$/],
    ['loopback_users = guest', /^rabbitmq\.conf line 1 \(loopback_users = guest\): 'none' is expected here/],
    ['auth_mechanisms.1 = CRAM-MD5', /^rabbitmq\.conf line 1 \(auth_mechanisms\.1 = CRAM-MD5\): the mechanism is one of PLAIN, AMQPLAIN, EXTERNAL$/],
    ['auth_mechanisms.1 = EXTERNAL', /^auth_mechanisms EXTERNAL takes the user from a TLS client certificate: it needs an amqps listener$/],
    ['ssl_options.verify = yes', /^rabbitmq\.conf line 1 \(ssl_options\.verify = yes\): verify_peer or verify_none is expected$/],
    ['log.console.level = loud', /^rabbitmq\.conf line 1 \(log\.console\.level = loud\): the level is one of debug, info/],
    ['just words', /^rabbitmq\.conf line 1: "just words" is not a "key = value" line$/],
    ['listeners.ssl.default = 5671', /^an amqps listener needs a certificate and its key/],
    ['listeners.ssl.other = 5671', /^rabbitmq\.conf line 1: listeners\.ssl\.other: Warren has one amqps listener: use listeners\.ssl\.default$/],
  ])('stops at %s with a sentence naming the line and what is accepted', (line, message) => {
    expect(() => settingsOf(line)).toThrow(message);
  });

  it('names a config file it cannot read', () => {
    expect(() => resolveSettings({ config: '/nowhere/rabbitmq.conf' }, {}, () => {
      throw Object.assign(new Error('x'), { code: 'ENOENT' });
    })).toThrow('the config file /nowhere/rabbitmq.conf cannot be read: no such file');
  });
});

describe('environment and flags', () => {
  it("reads RabbitMQ's variables", () => {
    const { settings } = resolve(undefined, { RABBITMQ_DEFAULT_USER: 'app', RABBITMQ_DEFAULT_PASS: 'pw', RABBITMQ_DEFAULT_VHOST: 'v', RABBITMQ_NODE_PORT: '5680', RABBITMQ_NODE_IP_ADDRESS: '0.0.0.0' });
    expect(settings).toMatchObject({ defaultUser: 'app', defaultPass: 'pw', defaultVhost: 'v', port: 5680, host: '0.0.0.0' });
  });

  it('reads a WARREN_ variable for each flag, over RabbitMQ’s', () => {
    const env = {
      WARREN_PORT: '5681',
      RABBITMQ_NODE_PORT: '5680',
      WARREN_HOST: '::1',
      WARREN_DATA_DIR: '/data',
      WARREN_PRINT_URL: 'true',
      WARREN_DEFINITIONS: 'd.json',
      WARREN_TRACE: 't.jsonl',
      WARREN_MANAGEMENT_PORT: '15680',
      WARREN_MANAGEMENT_HOST: '0.0.0.0',
      WARREN_NO_MANAGEMENT: '1',
      WARREN_PROMETHEUS_PORT: '15699',
      WARREN_LOG_LEVEL: 'debug',
    };
    expect(resolve(undefined, env).settings).toMatchObject({ port: 5681, host: '::1', dataDir: '/data', printUrl: true, definitions: 'd.json', trace: 't.jsonl', managementPort: 15680, managementHost: '0.0.0.0', management: false, prometheusPort: 15699, logLevel: 'debug' });
    expect(resolve(undefined, { WARREN_IN_MEMORY: 'true' }).settings.dataDir).toBeUndefined();
  });

  it('takes flags over the environment over the file, and says where each value came from', () => {
    const { settings, sources } = resolve('listeners.tcp.default = 5601\nheartbeat = 10\ndefault_user = file-user\n', { RABBITMQ_NODE_PORT: '5602', RABBITMQ_DEFAULT_USER: 'env-user' }, { port: '5603' });
    expect(settings).toMatchObject({ port: 5603, heartbeat: 10, defaultUser: 'env-user' });
    expect(sources).toMatchObject({ port: 'flag --port', heartbeat: 'rabbitmq.conf line 2', defaultUser: 'env RABBITMQ_DEFAULT_USER', frameMax: 'default' });
    const printed = printConfig(settings, sources);
    expect(printed).toMatch(/^port +5603 +flag --port$/m);
    expect(printed).toMatch(/^heartbeat +10 +rabbitmq\.conf line 2$/m);
    expect(printed).toMatch(/^defaultPass +\*{8} +default$/m);
  });

  it('finds the file through RABBITMQ_CONFIG_FILE', () => {
    const { settings } = resolveSettings({}, { RABBITMQ_CONFIG_FILE: '/etc/rabbitmq/rabbitmq.conf' }, () => 'heartbeat = 5\n');
    expect(settings.heartbeat).toBe(5);
  });

  it('refuses bad values from the environment and flags, naming where they came from', () => {
    expect(() => resolve(undefined, { RABBITMQ_NODE_PORT: 'x' })).toThrow('RABBITMQ_NODE_PORT=x: a port is a number from 0 to 65535');
    expect(() => resolve(undefined, {}, { 'log-level': 'loud' })).toThrow('--log-level "loud": the level is one of fatal, error, warn, info, debug, trace, silent');
    expect(() => resolve(undefined, {}, { 'data-dir': '' })).toThrow('--data-dir "": a directory is expected (for no data directory at all, use --in-memory)');
    expect(() => resolve(undefined, {}, { 'data-dir': 'x', 'in-memory': true })).toThrow('--in-memory and --data-dir exclude each other: choose one');
  });

  it("starts from RabbitMQ's defaults", () => {
    expect(resolve(undefined).settings).toEqual(defaultSettings());
    expect(defaultSettings()).toMatchObject({ port: 5672, managementPort: 15672, defaultUser: 'guest', defaultVhost: '/', loopbackUsers: ['guest'], heartbeat: 60, frameMax: 131072, channelMax: 2047 });
  });
});
