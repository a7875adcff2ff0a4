// The warren command's settings, read as RabbitMQ reads its own: command-line flags first, then
// environment variables (RabbitMQ's RABBITMQ_* and Warren's WARREN_* for each flag), then a
// rabbitmq.conf (sysctl format), then RabbitMQ's defaults. Every value is checked before anything
// listens or a data directory is locked, and each remembers where it came from (--print-config).
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

export interface Settings {
  host: string;
  port: number;
  /** undefined: in memory. */
  dataDir: string | undefined;
  printUrl: boolean;
  definitions: string | undefined;
  trace: string | undefined;
  management: boolean;
  managementPort: number;
  managementHost: string | undefined;
  /** The management API over HTTPS (management.ssl.*): its certificate, key and CA. */
  managementTlsCert: string | undefined;
  managementTlsKey: string | undefined;
  managementTlsCa: string | undefined;
  /** rabbitmq_prometheus's port; undefined: no Prometheus endpoint (as with the plugin disabled). */
  prometheusPort: number | undefined;
  /** The amqps listener's port; undefined: none (5671 once a certificate and key are given). */
  tlsPort: number | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  /** ssl_options.verify = verify_peer. */
  tlsVerify: boolean;
  tlsFailIfNoPeerCert: boolean;
  sslCertLoginFrom: 'distinguished_name' | 'common_name';
  /** pino's level. */
  logLevel: string;
  logFile: string | undefined;
  /** undefined: pretty on a terminal, JSON lines otherwise. */
  logFormat: 'pretty' | 'json' | undefined;
  defaultUser: string;
  defaultPass: string;
  defaultVhost: string;
  defaultUserTags: string[];
  defaultPermissions: Permissions;
  loopbackUsers: string[];
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  maxMessageSize: number;
  consumerTimeoutMs: number;
  handshakeTimeoutMs: number;
  memoryHighWatermark: number;
  diskFreeLimit: number;
  authMechanisms: string[];
}

/** Where a value came from: 'default', 'flag --port', 'env RABBITMQ_NODE_PORT', 'rabbitmq.conf line 3'. */
export type Sources = Record<keyof Settings, string>;

export class SettingsError extends Error {}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** RabbitMQ's log levels, as pino names them. */
const RABBIT_LEVELS: Readonly<Record<string, string>> = { debug: 'debug', info: 'info', notice: 'info', warning: 'warn', error: 'error', critical: 'fatal', alert: 'fatal', emergency: 'fatal', none: 'silent' };
const MECHANISMS = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'];
/** RabbitMQ's information units: k/KiB… are powers of 1024, kB/MB/GB powers of 1000. */
const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, K: 1024, kiB: 1024, KiB: 1024, M: 1024 ** 2, MiB: 1024 ** 2, G: 1024 ** 3, GiB: 1024 ** 3, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

function port(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new SettingsError('a port is a number from 0 to 65535');
  return n;
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new SettingsError(`an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`} is expected`);
    return n;
  };
}

function bool(v: string): boolean {
  const t = v.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(t)) return true;
  if (['false', '0', 'no'].includes(t)) return false;
  throw new SettingsError('true or false is expected');
}

function bytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const unit = m ? UNITS[m[2]] : undefined;
  if (!m || unit === undefined) throw new SettingsError('a size in bytes is expected, optionally with a unit (k, KiB, M, MiB, G, GiB are powers of 1024; kB, MB, GB powers of 1000)');
  return Math.round(Number(m[1]) * unit);
}

function fraction(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new SettingsError('a positive number is expected');
  return n;
}

function nonEmpty(v: string): string {
  if (v === '') throw new SettingsError('a value is expected');
  return v;
}

function level(v: string): string {
  if (!LEVELS.includes(v)) throw new SettingsError(`the level is one of ${LEVELS.join(', ')}`);
  return v;
}

function rabbitLevel(v: string): string {
  const l = RABBIT_LEVELS[v.trim()];
  if (l === undefined) throw new SettingsError(`the level is one of ${Object.keys(RABBIT_LEVELS).join(', ')}`);
  return l;
}

export function defaultSettings(): Settings {
  return {
    host: '127.0.0.1',
    port: 5672,
    dataDir: 'warren-data',
    printUrl: false,
    definitions: undefined,
    trace: undefined,
    management: true,
    managementPort: 15672,
    managementHost: undefined,
    managementTlsCert: undefined,
    managementTlsKey: undefined,
    managementTlsCa: undefined,
    prometheusPort: undefined,
    tlsPort: undefined,
    tlsCert: undefined,
    tlsKey: undefined,
    tlsCa: undefined,
    tlsVerify: false,
    tlsFailIfNoPeerCert: false,
    sslCertLoginFrom: 'distinguished_name',
    logLevel: 'info',
    logFile: undefined,
    logFormat: undefined,
    defaultUser: 'guest',
    defaultPass: 'guest',
    defaultVhost: '/',
    defaultUserTags: ['administrator'],
    defaultPermissions: { configure: '.*', write: '.*', read: '.*' },
    loopbackUsers: ['guest'],
    heartbeat: 60,
    frameMax: 131072,
    channelMax: 2047,
    maxMessageSize: 134217728,
    consumerTimeoutMs: 1800000,
    handshakeTimeoutMs: 10000,
    memoryHighWatermark: 0.4,
    diskFreeLimit: 50_000_000,
    authMechanisms: ['PLAIN', 'AMQPLAIN'],
  };
}

/** What the command line gave (parseArgs's values). */
export interface Flags {
  host?: string;
  port?: string;
  'data-dir'?: string;
  'in-memory'?: boolean;
  'print-url'?: boolean;
  definitions?: string;
  trace?: string;
  'management-port'?: string;
  'management-host'?: string;
  'no-management'?: boolean;
  'prometheus-port'?: string;
  'tls-port'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-ca'?: string;
  'log-level'?: string;
  'log-format'?: string;
  config?: string;
}

type Setter = (s: Settings, value: string) => void;

/** A flag, its WARREN_* variable (and RabbitMQ's, where there is one), and what it sets. */
const FLAGS: readonly { flag: keyof Flags; env: string[]; set: Setter; setting: keyof Settings; boolean?: true }[] = [
  { flag: 'host', env: ['WARREN_HOST', 'RABBITMQ_NODE_IP_ADDRESS'], setting: 'host', set: (s, v) => (s.host = nonEmpty(v)) },
  { flag: 'port', env: ['WARREN_PORT', 'RABBITMQ_NODE_PORT'], setting: 'port', set: (s, v) => (s.port = port(v)) },
  {
    flag: 'data-dir',
    env: ['WARREN_DATA_DIR'],
    setting: 'dataDir',
    set: (s, v) => {
      if (v === '') throw new SettingsError('a directory is expected (for no data directory at all, use --in-memory)');
      s.dataDir = v;
    },
  },
  { flag: 'in-memory', env: ['WARREN_IN_MEMORY'], setting: 'dataDir', boolean: true, set: (s, v) => bool(v) && (s.dataDir = undefined) },
  { flag: 'print-url', env: ['WARREN_PRINT_URL'], setting: 'printUrl', boolean: true, set: (s, v) => (s.printUrl = bool(v)) },
  { flag: 'definitions', env: ['WARREN_DEFINITIONS'], setting: 'definitions', set: (s, v) => (s.definitions = nonEmpty(v)) },
  { flag: 'trace', env: ['WARREN_TRACE'], setting: 'trace', set: (s, v) => (s.trace = nonEmpty(v)) },
  { flag: 'management-port', env: ['WARREN_MANAGEMENT_PORT'], setting: 'managementPort', set: (s, v) => (s.managementPort = port(v)) },
  { flag: 'management-host', env: ['WARREN_MANAGEMENT_HOST'], setting: 'managementHost', set: (s, v) => (s.managementHost = nonEmpty(v)) },
  { flag: 'no-management', env: ['WARREN_NO_MANAGEMENT'], setting: 'management', boolean: true, set: (s, v) => (s.management = !bool(v)) },
  { flag: 'prometheus-port', env: ['WARREN_PROMETHEUS_PORT'], setting: 'prometheusPort', set: (s, v) => (s.prometheusPort = port(v)) },
  { flag: 'tls-port', env: ['WARREN_TLS_PORT'], setting: 'tlsPort', set: (s, v) => (s.tlsPort = port(v)) },
  { flag: 'tls-cert', env: ['WARREN_TLS_CERT'], setting: 'tlsCert', set: (s, v) => (s.tlsCert = nonEmpty(v)) },
  { flag: 'tls-key', env: ['WARREN_TLS_KEY'], setting: 'tlsKey', set: (s, v) => (s.tlsKey = nonEmpty(v)) },
  { flag: 'tls-ca', env: ['WARREN_TLS_CA'], setting: 'tlsCa', set: (s, v) => (s.tlsCa = nonEmpty(v)) },
  { flag: 'log-level', env: ['WARREN_LOG_LEVEL'], setting: 'logLevel', set: (s, v) => (s.logLevel = level(v)) },
  {
    flag: 'log-format',
    env: ['WARREN_LOG_FORMAT'],
    setting: 'logFormat',
    set: (s, v) => {
      if (v !== 'pretty' && v !== 'json') throw new SettingsError('pretty or json is expected');
      s.logFormat = v;
    },
  },
];

/** RabbitMQ's variables without a flag of their own. */
const ENV_ONLY: readonly { env: string; setting: keyof Settings; set: Setter }[] = [
  { env: 'RABBITMQ_DEFAULT_USER', setting: 'defaultUser', set: (s, v) => (s.defaultUser = nonEmpty(v)) },
  { env: 'RABBITMQ_DEFAULT_PASS', setting: 'defaultPass', set: (s, v) => (s.defaultPass = v) },
  { env: 'RABBITMQ_DEFAULT_VHOST', setting: 'defaultVhost', set: (s, v) => (s.defaultVhost = nonEmpty(v)) },
];

function listener(s: Settings, v: string): void {
  // "5672", "127.0.0.1:5672" or "::1:5672" (the port is after the last colon)
  const at = v.lastIndexOf(':');
  if (at >= 0) {
    const ip = v.slice(0, at).replace(/^\[|\]$/g, '');
    if (ip === '') throw new SettingsError('an address is expected before the port');
    s.host = ip;
  }
  s.port = port(v.slice(at + 1));
}

/** rabbitmq.conf keys Warren reads: exact names, or prefixes ending in '.' with a name after them. */
const CONF: readonly { key: string; setting: keyof Settings; set: (s: Settings, value: string, name: string) => void }[] = [
  { key: 'listeners.tcp.default', setting: 'port', set: listener },
  { key: 'default_user', setting: 'defaultUser', set: (s, v) => (s.defaultUser = nonEmpty(v)) },
  { key: 'default_pass', setting: 'defaultPass', set: (s, v) => (s.defaultPass = v) },
  { key: 'default_vhost', setting: 'defaultVhost', set: (s, v) => (s.defaultVhost = nonEmpty(v)) },
  { key: 'default_permissions.configure', setting: 'defaultPermissions', set: (s, v) => (s.defaultPermissions.configure = v) },
  { key: 'default_permissions.write', setting: 'defaultPermissions', set: (s, v) => (s.defaultPermissions.write = v) },
  { key: 'default_permissions.read', setting: 'defaultPermissions', set: (s, v) => (s.defaultPermissions.read = v) },
  {
    key: 'default_user_tags.',
    setting: 'defaultUserTags',
    set: (s, v, tag) => {
      const on = bool(v);
      s.defaultUserTags = on ? [...new Set([...s.defaultUserTags, tag])] : s.defaultUserTags.filter((t) => t !== tag);
    },
  },
  {
    key: 'loopback_users',
    setting: 'loopbackUsers',
    set: (s, v) => {
      if (v.trim() !== 'none') throw new SettingsError("'none' is expected here (or loopback_users.<user> = true|false)");
      s.loopbackUsers = [];
    },
  },
  {
    key: 'loopback_users.',
    setting: 'loopbackUsers',
    set: (s, v, user) => (s.loopbackUsers = bool(v) ? [...new Set([...s.loopbackUsers, user])] : s.loopbackUsers.filter((u) => u !== user)),
  },
  { key: 'management.tcp.port', setting: 'managementPort', set: (s, v) => (s.managementPort = port(v)) },
  { key: 'management.tcp.ip', setting: 'managementHost', set: (s, v) => (s.managementHost = nonEmpty(v)) },
  // Warren serves the API on one listener: with management.ssl.*, that one is HTTPS
  { key: 'management.ssl.port', setting: 'managementPort', set: (s, v) => (s.managementPort = port(v)) },
  { key: 'management.ssl.ip', setting: 'managementHost', set: (s, v) => (s.managementHost = nonEmpty(v)) },
  { key: 'management.ssl.certfile', setting: 'managementTlsCert', set: (s, v) => (s.managementTlsCert = nonEmpty(v)) },
  { key: 'management.ssl.keyfile', setting: 'managementTlsKey', set: (s, v) => (s.managementTlsKey = nonEmpty(v)) },
  { key: 'management.ssl.cacertfile', setting: 'managementTlsCa', set: (s, v) => (s.managementTlsCa = nonEmpty(v)) },
  { key: 'prometheus.tcp.port', setting: 'prometheusPort', set: (s, v) => (s.prometheusPort = port(v)) },
  {
    key: 'listeners.ssl.default',
    setting: 'tlsPort',
    set: (s, v) => {
      const parsed = { ...s };
      listener(parsed, v);
      s.tlsPort = parsed.port;
    },
  },
  { key: 'ssl_options.certfile', setting: 'tlsCert', set: (s, v) => (s.tlsCert = nonEmpty(v)) },
  { key: 'ssl_options.keyfile', setting: 'tlsKey', set: (s, v) => (s.tlsKey = nonEmpty(v)) },
  { key: 'ssl_options.cacertfile', setting: 'tlsCa', set: (s, v) => (s.tlsCa = nonEmpty(v)) },
  {
    key: 'ssl_options.verify',
    setting: 'tlsVerify',
    set: (s, v) => {
      if (v !== 'verify_peer' && v !== 'verify_none') throw new SettingsError('verify_peer or verify_none is expected');
      s.tlsVerify = v === 'verify_peer';
    },
  },
  { key: 'ssl_options.fail_if_no_peer_cert', setting: 'tlsFailIfNoPeerCert', set: (s, v) => (s.tlsFailIfNoPeerCert = bool(v)) },
  {
    key: 'ssl_cert_login_from',
    setting: 'sslCertLoginFrom',
    set: (s, v) => {
      if (v !== 'distinguished_name' && v !== 'common_name') throw new SettingsError('distinguished_name or common_name is expected');
      s.sslCertLoginFrom = v;
    },
  },
  { key: 'vm_memory_high_watermark.relative', setting: 'memoryHighWatermark', set: (s, v) => (s.memoryHighWatermark = Math.min(fraction(v), 1)) },
  // above 1, the watermark is bytes (see AlarmLimits)
  { key: 'vm_memory_high_watermark.absolute', setting: 'memoryHighWatermark', set: (s, v) => (s.memoryHighWatermark = Math.max(2, bytes(v))) },
  { key: 'disk_free_limit.absolute', setting: 'diskFreeLimit', set: (s, v) => (s.diskFreeLimit = bytes(v)) },
  // RabbitMQ's relative limit is a multiple of the machine's memory
  { key: 'disk_free_limit.relative', setting: 'diskFreeLimit', set: (s, v) => (s.diskFreeLimit = Math.round(fraction(v) * totalmem())) },
  { key: 'heartbeat', setting: 'heartbeat', set: (s, v) => (s.heartbeat = integer(0, 65535)(v)) },
  { key: 'frame_max', setting: 'frameMax', set: (s, v) => (s.frameMax = integer(4096, 2 ** 32 - 1)(v)) },
  { key: 'channel_max', setting: 'channelMax', set: (s, v) => (s.channelMax = integer(1, 65535)(v)) },
  { key: 'max_message_size', setting: 'maxMessageSize', set: (s, v) => (s.maxMessageSize = integer(1, 536870912)(v)) },
  { key: 'consumer_timeout', setting: 'consumerTimeoutMs', set: (s, v) => (s.consumerTimeoutMs = integer(1)(v)) },
  { key: 'handshake_timeout', setting: 'handshakeTimeoutMs', set: (s, v) => (s.handshakeTimeoutMs = integer(1)(v)) },
  {
    key: 'auth_mechanisms.',
    setting: 'authMechanisms',
    set: (s, v) => {
      const m = v.trim();
      if (!MECHANISMS.includes(m)) throw new SettingsError(`the mechanism is one of ${MECHANISMS.join(', ')}`);
      s.authMechanisms = [...new Set([...s.authMechanisms, m])];
    },
  },
  { key: 'load_definitions', setting: 'definitions', set: (s, v) => (s.definitions = nonEmpty(v)) },
  { key: 'log.console.level', setting: 'logLevel', set: (s, v) => (s.logLevel = rabbitLevel(v)) },
  { key: 'log.file', setting: 'logFile', set: (s, v) => (s.logFile = v === 'false' ? undefined : nonEmpty(v)) },
];

/** Keys Warren knows but cannot honour yet: the start stops with a sentence rather than ignore them. */
const NOT_YET: readonly [prefix: string, why: string][] = [
  ['listeners.ssl.', 'Warren has one amqps listener: use listeners.ssl.default'],
  ['management.ssl.', 'Warren reads management.ssl.port, .ip, .certfile, .keyfile and .cacertfile'],
];

interface ConfLine {
  line: number;
  key: string;
  value: string;
}

/** A rabbitmq.conf: `key = value` lines; blank lines and lines starting with # are skipped. */
export function parseConf(text: string, file: string): ConfLine[] {
  const out: ConfLine[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new SettingsError(`${file} line ${i + 1}: "${line}" is not a "key = value" line`);
    out.push({ line: i + 1, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return out;
}

const knownKeys = () => CONF.map((c) => (c.key.endsWith('.') ? `${c.key}<name>` : c.key)).join(', ');

/** Reads flags, then the environment, then the config file, over RabbitMQ's defaults. */
export function resolveSettings(flags: Flags, env: NodeJS.ProcessEnv, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): { settings: Settings; sources: Sources; configFile: string | undefined } {
  const settings = defaultSettings();
  const sources = Object.fromEntries(Object.keys(settings).map((k) => [k, 'default'])) as Sources;
  /** `given` is what the error names: the flag or variable with its value, or the file's line. */
  const apply = (setting: keyof Settings, where: string, given: string, set: () => void) => {
    const before = JSON.stringify(settings);
    try {
      set();
    } catch (err) {
      if (err instanceof SettingsError) throw new SettingsError(`${given}: ${err.message}`);
      throw err;
    }
    sources[setting] = where;
    // a key may set more than its own setting (listeners.tcp.default: the address too)
    const was = JSON.parse(before) as Record<string, unknown>;
    for (const k of Object.keys(settings) as (keyof Settings)[]) if (JSON.stringify(settings[k]) !== JSON.stringify(was[k])) sources[k] = where;
  };

  // the file first, so that the environment and then the flags override it
  const configFile = flags.config ?? env.WARREN_CONFIG_FILE ?? env.RABBITMQ_CONFIG_FILE;
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SettingsError(`the config file ${configFile} cannot be read: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
    }
    const name = configFile.split('/').pop()!;
    for (const { line, key, value } of parseConf(text, name)) {
      const where = `${name} line ${line}`;
      const exact = CONF.find((c) => c.key === key);
      const prefixed = exact ? undefined : CONF.find((c) => c.key.endsWith('.') && key.startsWith(c.key) && key.length > c.key.length);
      const entry = exact ?? prefixed;
      const notYet = NOT_YET.find(([prefix]) => key.startsWith(prefix));
      if (!entry && notYet) throw new SettingsError(`${where}: ${key}: ${notYet[1]}`);
      if (!entry) throw new SettingsError(`${where}: unknown key '${key}' (Warren reads ${knownKeys()})`);
      // a list set key by key (auth_mechanisms.1, loopback_users.guest…) replaces the default list
      if (prefixed && sources[entry.setting] === 'default') (settings[entry.setting] as string[]) = [];
      apply(entry.setting, where, `${where} (${key} = ${value})`, () => entry.set(settings, value, key.slice(entry.key.length)));
    }
  }

  for (const e of ENV_ONLY) {
    const v = env[e.env];
    if (v !== undefined) apply(e.setting, `env ${e.env}`, `${e.env}=${v}`, () => e.set(settings, v));
  }
  for (const f of FLAGS) {
    // Warren's own variable wins over RabbitMQ's
    for (const name of [...f.env].reverse()) {
      const v = env[name];
      if (v !== undefined) apply(f.setting, `env ${name}`, `${name}=${v}`, () => f.set(settings, v));
    }
  }
  for (const f of FLAGS) {
    const v = flags[f.flag];
    if (v === undefined || v === false) continue;
    apply(f.setting, `flag --${f.flag}`, v === true ? `--${f.flag}` : `--${f.flag} ${JSON.stringify(v)}`, () => f.set(settings, v === true ? 'true' : v));
  }
  if (flags['in-memory'] && flags['data-dir'] !== undefined) throw new SettingsError('--in-memory and --data-dir exclude each other: choose one');
  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined) || (settings.tlsPort !== undefined && settings.tlsCert === undefined)) {
    throw new SettingsError('an amqps listener needs a certificate and its key (--tls-cert and --tls-key, or ssl_options.certfile and ssl_options.keyfile)');
  }
  if (settings.tlsCert !== undefined && settings.tlsPort === undefined) settings.tlsPort = 5671;
  if ((settings.managementTlsCert === undefined) !== (settings.managementTlsKey === undefined)) {
    throw new SettingsError('the management API over HTTPS needs a certificate and its key (management.ssl.certfile and management.ssl.keyfile)');
  }
  if (settings.authMechanisms.includes('EXTERNAL') && settings.tlsCert === undefined) throw new SettingsError('auth_mechanisms EXTERNAL takes the user from a TLS client certificate: it needs an amqps listener');
  return { settings, sources, configFile };
}

/** --print-config: each setting, its value and where it came from. */
export function printConfig(settings: Settings, sources: Sources): string {
  const rows = (Object.keys(settings) as (keyof Settings)[]).map((k) => {
    const v = settings[k];
    const shown = k === 'defaultPass' ? '********' : v === undefined ? (k === 'dataDir' ? '(in memory)' : '(none)') : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return [k, shown, sources[k]];
  });
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([k, v, s]) => `${k.padEnd(w0)}  ${v.padEnd(w1)}  ${s}`).join('\n') + '\n';
}
