// `warren ctl`: rabbitmqctl's everyday commands, carried out through a RabbitMQ-compatible management
// HTTP API, so the same command works against a real RabbitMQ and against Warren. Output mirrors
// rabbitmqctl 3.10: banners and results on stdout, errors on stderr, sysexits-style exit codes.
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { scheduler } from 'node:timers/promises';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';

export interface CtlIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** Where `import_definitions -` reads from; standard input unless given. */
  stdin?: () => Promise<string>;
}

// rabbitmqctl's exit codes, taken from sysexits.h
const EX_USAGE = 64;
const EX_DATAERR = 65;
const EX_NOUSER = 67;
const EX_UNAVAILABLE = 69;
const EX_SOFTWARE = 70;
const EX_NOPERM = 77;

const DEFAULT_URL = 'http://127.0.0.1:15672';

/** A failure whose stderr text and exit code are exactly what rabbitmqctl gives for the same case. */
class CtlError extends Error {
  constructor(
    readonly text: string,
    readonly exitCode: number,
  ) {
    super(text);
  }
}

const OPTIONS = {
  url: { type: 'string' },
  username: { type: 'string', short: 'u' },
  password: { type: 'string' },
  vhost: { type: 'string', short: 'p', default: '/' },
  node: { type: 'string', short: 'n' },
  timeout: { type: 'string', short: 't' },
  quiet: { type: 'boolean', short: 'q' },
  silent: { type: 'boolean', short: 's' },
  'no-table-headers': { type: 'boolean' },
  formatter: { type: 'string' },
  priority: { type: 'string', default: '0' },
  'apply-to': { type: 'string', default: 'all' },
  global: { type: 'boolean' },
  limit: { type: 'string', default: '0' },
  'if-empty': { type: 'boolean' },
  'if-unused': { type: 'boolean' },
  description: { type: 'string' },
  tags: { type: 'string' },
  'default-queue-type': { type: 'string' },
  help: { type: 'boolean', short: '?' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
type Row = Record<string, unknown>;

class Api {
  readonly base: string;
  private readonly authorization: string;

  constructor(
    url: string,
    username: string | undefined,
    password: string | undefined,
    private readonly timeoutMs: number,
  ) {
    const parsed = new URL(url);
    const user = username ?? (parsed.username ? decodeURIComponent(parsed.username) : 'guest');
    const pass = password ?? (parsed.password ? decodeURIComponent(parsed.password) : 'guest');
    parsed.username = parsed.password = '';
    this.base = parsed.href.replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }

  /** One request; only an unreachable API or refused credentials throw, other statuses are the caller's to judge. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = this.timeoutMs) {
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: this.authorization, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      throw new CtlError(`Error: unable to reach the management API at ${this.base}: ${cause}\n`, EX_UNAVAILABLE);
    }
    const text = await res.text();
    if (res.status === 401) {
      throw new CtlError(`Error: the management API at ${this.base} refused the credentials: ${errorReason(text)}\n`, EX_NOPERM);
    }
    return { status: res.status, ok: res.ok, text };
  }

  /** A GET whose 404 means "nothing there"; any other failure is reported as the API words it. */
  async get<T>(path: string): Promise<T | undefined> {
    const res = await this.call('GET', path);
    if (res.status === 404) return undefined;
    if (!res.ok) throw apiError(res.text);
    return JSON.parse(res.text) as T;
  }

  /** A write that must succeed; `notFound` is rabbitmqctl's error for the 404 case. */
  async send(method: string, path: string, body?: unknown, notFound?: CtlError, headers?: Record<string, string>) {
    const res = await this.call(method, path, body, headers);
    if (res.status === 404 && notFound) throw notFound;
    if (!res.ok) throw apiError(res.text);
    return res;
  }
}

/** The management API's error reason; RabbitMQ HTML-escapes it. */
function errorReason(text: string): string {
  let reason = text;
  try {
    const body = JSON.parse(text) as { reason?: unknown; error?: unknown };
    reason = String(body.reason ?? body.error ?? text);
  } catch {
    // not JSON: report the body as it came
  }
  const entities: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&', '#39': "'" };
  return reason.replace(/&(lt|gt|quot|amp|#39);/g, (_, e: string) => entities[e]!);
}

const apiError = (text: string) => new CtlError(`Error:\n${errorReason(text)}\n`, EX_UNAVAILABLE);
const seg = encodeURIComponent;

// ---- value formatting, as rabbitmqctl's table and json formatters print Erlang terms ----

/** How a column's JSON value is printed by the table formatter. */
type Kind = 'plain' | 'table' | 'atoms' | 'float' | 'protocol' | 'json' | 'nodes';

const byErlangOrder = ([a]: [string, unknown], [b]: [string, unknown]) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** An AMQP table or array value as Erlang prints it; Erlang strings are lists, so "" is []. */
function erlangTerm(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '[]' : `"${value.replace(/[\\"\t\n\r]/g, (c) => ERLANG_ESCAPES[c]!)}"`;
  if (Array.isArray(value)) return `[${value.map(erlangTerm).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `[${Object.entries(value).sort(byErlangOrder).map(([k, v]) => `{${erlangTerm(k)},${erlangTerm(v)}}`).join(',')}]`;
  }
  return value === null || value === undefined ? 'undefined' : String(value);
}
const ERLANG_ESCAPES: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

// rabbitmqctl bolds headings even when its output is not a terminal
const bold = (heading: string) => `\x1b[1m${heading}\x1b[0m`;

/** Erlang floats always print a decimal point. */
const erlangFloat = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(n));

function renderCell(value: unknown, kind: Kind): string {
  if (value === undefined || value === null) return '';
  switch (kind) {
    case 'table':
      return erlangTerm(value);
    case 'atoms':
      return `[${(Array.isArray(value) ? value : String(value).split(',').filter(Boolean)).join(', ')}]`;
    case 'float':
      return typeof value === 'number' ? erlangFloat(value) : String(value);
    case 'protocol':
      return String(value).replace(/^AMQP (\d+)-(\d+)-(\d+)$/, '{$1,$2,$3}');
    case 'json':
      return JSON.stringify(value);
    case 'nodes':
      return `[${Object.entries(value as Row).map(([node, state]) => `{${node}, ${String(state)}}`).join(', ')}]`;
    case 'plain':
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

/** The AMQP field type rabbitmqctl's json formatter names, guessed from the JSON value. */
function amqpType(value: unknown): string {
  if (typeof value === 'string') return 'longstr';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'long' : 'double';
  if (Array.isArray(value)) return 'array';
  return value === null ? 'void' : 'table';
}

/** rabbitmqctl's json formatter writes a table as [name, type, value] triples and an array as a type-keyed map. */
function typedJson(value: unknown): unknown {
  if (Array.isArray(value)) return Object.fromEntries(value.map((v) => [amqpType(v), typedJson(v)]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).sort(byErlangOrder).map(([k, v]) => [k, amqpType(v), typedJson(v)]);
  }
  return value;
}

// ---- list commands ----

interface Column {
  kind: Kind;
  get: (row: Row) => unknown;
}

interface Listing {
  vhostScoped: boolean;
  /** Informational lines printed before the rows. */
  banner: (vhost: string, timeoutSeconds: number) => string[];
  path: (vhost: string, columns: string[]) => string;
  defaults: string[];
  columns: Record<string, Column>;
}

const field = (name: string, kind: Kind = 'plain'): Column => ({ kind, get: (row) => row[name] });
const fields = (names: string, kind: Kind = 'plain') =>
  Object.fromEntries(names.split(' ').map((name) => [name, field(name, kind)]));
const nested = (path: string, kind: Kind = 'plain'): Column => ({
  kind,
  get: (row) => path.split('.').reduce<unknown>((v, key) => (v as Row | undefined)?.[key], row),
});

// `sort=` asks RabbitMQ for its own listing order, the one rabbitmqctl prints, instead of sorting by name
const LISTINGS: Record<string, Listing> = {
  list_queues: {
    vhostScoped: true,
    banner: (vhost, timeout) => [`Timeout: ${erlangFloat(timeout)} seconds ...`, `Listing queues for vhost ${vhost} ...`],
    // rabbitmqctl's queue info keys are the API's field names, so the API can leave out the rest
    path: (vhost, columns) => `/api/queues/${seg(vhost)}?sort=&columns=${columns.map(seg).join(',')}`,
    defaults: ['name', 'messages'],
    columns: {
      ...fields(
        'name durable auto_delete policy pid owner_pid exclusive exclusive_consumer_pid exclusive_consumer_tag ' +
          'messages_ready messages_unacknowledged messages messages_ready_ram messages_unacknowledged_ram messages_ram ' +
          'messages_persistent message_bytes message_bytes_ready message_bytes_unacknowledged message_bytes_ram ' +
          'message_bytes_persistent head_message_timestamp disk_reads disk_writes consumers memory slave_pids ' +
          'synchronised_slave_pids state type leader members online',
      ),
      ...fields('consumer_utilisation consumer_capacity', 'float'),
      arguments: field('arguments', 'table'),
    },
  },
  list_exchanges: {
    vhostScoped: true,
    banner: (vhost) => [`Listing exchanges for vhost ${vhost} ...`],
    path: (vhost) => `/api/exchanges/${seg(vhost)}?sort=`,
    defaults: ['name', 'type'],
    columns: { ...fields('name type durable auto_delete internal policy'), arguments: field('arguments', 'table') },
  },
  list_bindings: {
    vhostScoped: true,
    banner: (vhost) => [`Listing bindings for vhost ${vhost}...`],
    path: (vhost) => `/api/bindings/${seg(vhost)}?sort=`,
    defaults: ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments'],
    columns: {
      source_name: field('source'),
      source_kind: { kind: 'plain', get: () => 'exchange' },
      destination_name: field('destination'),
      destination_kind: field('destination_type'),
      routing_key: field('routing_key'),
      arguments: field('arguments', 'table'),
    },
  },
  list_connections: {
    vhostScoped: false,
    banner: () => ['Listing connections ...'],
    path: () => '/api/connections?sort=',
    defaults: ['user', 'peer_host', 'peer_port', 'state'],
    columns: {
      ...fields(
        'auth_mechanism channel_max channels connected_at frame_max host name peer_cert_issuer peer_cert_subject ' +
          'peer_cert_validity peer_host peer_port pid port recv_cnt recv_oct send_cnt send_oct send_pend ssl ' +
          'ssl_cipher ssl_hash ssl_key_exchange ssl_protocol state timeout user vhost',
      ),
      client_properties: field('client_properties', 'table'),
      protocol: field('protocol', 'protocol'),
    },
  },
  list_consumers: {
    vhostScoped: true,
    banner: (vhost) => [`Listing consumers in vhost ${vhost} ...`],
    path: (vhost) => `/api/consumers/${seg(vhost)}?sort=`,
    defaults: ['queue_name', 'channel_pid', 'consumer_tag', 'ack_required', 'prefetch_count', 'active', 'arguments'],
    columns: {
      ...fields('consumer_tag ack_required prefetch_count active activity_status'),
      queue_name: nested('queue.name'),
      // the API has no channel pids: the channel's name identifies it instead
      channel_pid: nested('channel_details.name'),
      arguments: field('arguments', 'table'),
    },
  },
  list_vhosts: {
    vhostScoped: false,
    banner: () => ['Listing vhosts ...'],
    path: () => '/api/vhosts?sort=',
    defaults: ['name'],
    columns: {
      ...fields('name description tracing default_queue_type'),
      tags: field('tags', 'atoms'),
      cluster_state: field('cluster_state', 'nodes'),
    },
  },
  list_users: {
    vhostScoped: false,
    banner: () => ['Listing users ...'],
    path: () => '/api/users?sort=',
    defaults: ['user', 'tags'],
    columns: { user: field('name'), tags: field('tags', 'atoms') },
  },
  list_permissions: {
    vhostScoped: true,
    banner: (vhost) => [`Listing permissions for vhost "${vhost}" ...`],
    path: (vhost) => `/api/vhosts/${seg(vhost)}/permissions?sort=`,
    defaults: ['user', 'configure', 'write', 'read'],
    columns: fields('user configure write read'),
  },
  list_policies: {
    vhostScoped: true,
    banner: (vhost) => [`Listing policies for vhost "${vhost}" ...`],
    path: (vhost) => `/api/policies/${seg(vhost)}?sort=`,
    defaults: ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
    columns: { ...fields('vhost name pattern apply-to priority'), definition: field('definition', 'json') },
  },
};

// list_users, list_permissions and list_policies take no column arguments in rabbitmqctl
const FIXED_COLUMNS = new Set(['list_users', 'list_permissions', 'list_policies']);

// ---- the commands ----

interface Context {
  api: Api;
  opts: Values;
  vhost: string;
  argv: readonly string[];
  /** The command's synopsis, for argument errors. */
  usage: string;
  io: CtlIo;
  /** A line of result: printed even with --quiet. */
  out: (line: string) => void;
  /** An informational line: --quiet, --silent and the json formatter suppress it. */
  info: (line: string) => void;
  overview: () => Promise<Overview>;
}

interface Overview {
  node: string;
  listeners?: { node: string; protocol: string; ip_address: string; port: number }[];
  object_totals?: { connections?: number; queues?: number };
  rabbitmq_version?: string;
  erlang_full_version?: string;
}

interface Command {
  usage: string;
  /** Whether it runs without first checking that the API answers, as rabbitmqctl first reaches the node. */
  offline?: boolean;
  /** How many positional arguments it takes, at least and at most. */
  arity: [number, number];
  /** What is wrong with the arguments, if anything, found before any request. */
  validate?: (args: string[]) => string | undefined;
  run: (ctx: Context, args: string[]) => Promise<void>;
}

/** The columns asked for: rabbitmqctl takes them as separate arguments or comma-separated. */
function listColumns(command: string, args: string[]): string[] {
  const requested = args.flatMap((a) => a.split(',')).filter(Boolean);
  return requested.length ? requested : LISTINGS[command]!.defaults;
}

async function list(ctx: Context, command: string, args: string[]): Promise<void> {
  const listing = LISTINGS[command]!;
  const columns = listColumns(command, args);
  for (const line of listing.banner(ctx.vhost, timeoutSeconds(ctx.opts, 60))) ctx.info(line);
  // like rabbitmqctl, an unknown vhost lists nothing rather than failing
  const rows = (await ctx.api.get<Row[]>(listing.path(ctx.vhost, columns))) ?? [];
  const cells = (row: Row) => columns.map((c) => [c, listing.columns[c]!] as const).map(([c, col]) => [c, col.get(row), col.kind] as const);
  if (ctx.opts.formatter === 'json') {
    const objects = rows.map((row) =>
      JSON.stringify(Object.fromEntries(cells(row).map(([c, v, kind]) => [c, kind === 'table' ? typedJson(v) : v ?? '']))),
    );
    ctx.io.stdout(`[\n${objects.map((o) => `${o}\n`).join(',')}]\n`);
    return;
  }
  if (rows.length && !ctx.opts.silent && !ctx.opts['no-table-headers']) ctx.out(columns.join('\t'));
  for (const row of rows) ctx.out(cells(row).map(([, v, kind]) => renderCell(v, kind)).join('\t'));
}

/** Every limit the vhost has, cleared. */
async function clearVhostLimits(ctx: Context): Promise<void> {
  const current = (await ctx.api.get<{ value: Record<string, number> }[]>(`/api/vhost-limits/${seg(ctx.vhost)}`)) ?? [];
  for (const name of Object.keys(current[0]?.value ?? {})) await ctx.api.send('DELETE', `/api/vhost-limits/${seg(ctx.vhost)}/${seg(name)}`);
}

const timeoutSeconds = (opts: Values, fallback: number) => (opts.timeout === undefined ? fallback : Number(opts.timeout));

function argumentError(ctx: Context, message: string): CtlError {
  const given = `Arguments given:\n\t${ctx.argv.join(' ')}\n\n${bold('Usage')}\n\nwarren ctl ${ctx.usage}\n`;
  return new CtlError(`Error (argument validation): ${message}\n${given}`, EX_USAGE);
}

const userPath = (user: string) => `/api/users/${seg(user)}`;
const noSuchUser = (user: string) => new CtlError(`Error:\nUser "${user}" does not exist\n`, EX_NOUSER);

interface User {
  tags: string[] | string;
  password_hash: string;
  hashing_algorithm: string;
}

async function existingUser(ctx: Context, user: string): Promise<User> {
  const found = await ctx.api.get<User>(userPath(user));
  if (!found) throw noSuchUser(user);
  return found;
}

/**
 * trace_on / trace_off: through the vhost's PUT, carrying its description and tags over (the API clears
 * what a PUT leaves out). A vhost that does not exist is left alone, and reported as rabbitmqctl does.
 */
async function setTracing(ctx: Context, on: boolean): Promise<void> {
  ctx.info(`${on ? 'Starting' : 'Stopping'} tracing for vhost "${ctx.vhost}" ...`);
  const path = `/api/vhosts/${seg(ctx.vhost)}`;
  const vhost = await ctx.api.get<{ description: string; tags: string[] }>(path);
  if (vhost) await ctx.api.send('PUT', path, { description: vhost.description, tags: vhost.tags, tracing: on });
  ctx.out(`Trace ${on ? 'enabled' : 'disabled'} for vhost ${ctx.vhost}`);
}

const tagList = (tags: string[] | string) => (Array.isArray(tags) ? tags.join(',') : tags);

async function readSource(ctx: Context, source: string): Promise<string> {
  if (source !== '-') return readFile(source, 'utf8');
  return ctx.io.stdin ? ctx.io.stdin() : text(process.stdin);
}

/** Opens and closes a TCP connection to the port, as rabbitmq-diagnostics does for each listener. */
function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, signal: AbortSignal.timeout(timeoutMs) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const LISTENER_PURPOSES: Record<string, string> = {
  amqp: 'AMQP 0-9-1 and AMQP 1.0',
  'amqp/ssl': 'AMQP 0-9-1 and AMQP 1.0 over TLS',
  clustering: 'inter-node and CLI tool communication',
  http: 'HTTP API',
  https: 'HTTP API over TLS (HTTPS)',
  'http/prometheus': 'Prometheus exporter API over HTTP',
  mqtt: 'MQTT',
  stomp: 'STOMP',
  stream: 'RabbitMQ Stream',
};

function listenerLine(l: { ip_address: string; port: number; protocol: string }): string {
  const iface = l.ip_address.includes(':') ? `[${l.ip_address}]` : l.ip_address;
  return `Interface: ${iface}, port: ${l.port}, protocol: ${l.protocol}, purpose: ${LISTENER_PURPOSES[l.protocol] ?? l.protocol}`;
}

const listenersOf = (overview: Overview) => (overview.listeners ?? []).filter((l) => l.node === overview.node);

/** Elixir's Float.round(bytes / 1e9, 4), printed the Erlang way. */
const gigabytes = (bytes: number) => erlangFloat(Math.round(bytes / 1e5) / 1e4);

interface NodeStatus {
  os_pid?: string;
  uptime?: number;
  run_queue?: number;
  proc_used?: number;
  proc_total?: number;
  net_ticktime?: number;
  enabled_plugins?: string[];
  db_dir?: string;
  config_files?: string[];
  log_files?: string[];
  mem_alarm?: boolean;
  disk_free_alarm?: boolean;
  mem_used?: number;
  mem_limit?: number;
  mem_calculation_strategy?: string;
  memory?: Record<string, number | string | Record<string, number>>;
  fd_used?: number;
  fd_total?: number;
  sockets_used?: number;
  sockets_total?: number;
  disk_free?: number;
  disk_free_limit?: number;
}

/** rabbitmqctl status's sections, as far as the management API tells them. */
function statusSections(overview: Overview, node: NodeStatus, vhostCount: number): string[] {
  const alarms = [node.mem_alarm && 'memory', node.disk_free_alarm && 'free disk space'].filter(Boolean);
  const { total, ...breakdown } = node.memory ?? {};
  const strategyTotal = (total as Record<string, number> | undefined)?.[node.mem_calculation_strategy ?? 'rss'] ?? node.mem_used ?? 0;
  // besides the byte counts per category, the breakdown names its strategy
  const memoryLines = Object.entries(breakdown)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .sort(([, a], [, b]) => b - a)
    .map(([key, bytes]) => `${key}: ${gigabytes(bytes)} gb (${erlangFloat(Math.round((bytes / strategyTotal) * 1e4) / 100)} %)`);
  const section = (heading: string, lines: string[]) => [bold(heading), '', ...lines, ''];
  const bullets = (items: string[] | undefined) => (items ?? []).map((i) => ` * ${i}`);
  return [
    ...section('Runtime', [
      `OS PID: ${node.os_pid ?? ''}`,
      `Uptime (seconds): ${Math.floor((node.uptime ?? 0) / 1000)}`,
      `RabbitMQ version: ${overview.rabbitmq_version ?? ''}`,
      `Node name: ${overview.node}`,
      `Erlang configuration: ${overview.erlang_full_version ?? ''}`,
      `Erlang processes: ${node.proc_used ?? ''} used, ${node.proc_total ?? ''} limit`,
      `Scheduler run queue: ${node.run_queue ?? ''}`,
      `Cluster heartbeat timeout (net_ticktime): ${node.net_ticktime ?? ''}`,
    ]),
    ...section('Plugins', ['Enabled plugins:', '', ...bullets(node.enabled_plugins)]),
    ...section('Data directory', [`Node data directory: ${node.db_dir ?? ''}`]),
    ...section('Config files', bullets(node.config_files)),
    ...section('Log file(s)', bullets(node.log_files)),
    ...section('Alarms', alarms.length ? alarms.map(String) : ['(none)']),
    ...section('Memory', [
      `Total memory used: ${gigabytes(node.mem_used ?? 0)} gb`,
      `Calculation strategy: ${node.mem_calculation_strategy ?? ''}`,
      `Memory high watermark setting: computed to: ${gigabytes(node.mem_limit ?? 0)} gb`,
      ...(memoryLines.length ? ['', ...memoryLines] : []),
    ]),
    ...section('File Descriptors', [
      `Total: ${node.fd_used ?? ''}, limit: ${node.fd_total ?? ''}`,
      `Sockets: ${node.sockets_used ?? ''}, limit: ${node.sockets_total ?? ''}`,
    ]),
    ...section('Free Disk Space', [
      `Low free disk space watermark: ${gigabytes(node.disk_free_limit ?? 0)} gb`,
      `Free disk space: ${gigabytes(node.disk_free ?? 0)} gb`,
    ]),
    ...section('Totals', [
      `Connection count: ${overview.object_totals?.connections ?? 0}`,
      `Queue count: ${overview.object_totals?.queues ?? 0}`,
      `Virtual host count: ${vhostCount}`,
    ]),
    bold('Listeners'),
    '',
    ...listenersOf(overview).map(listenerLine).sort(),
  ];
}

const COMMANDS: Record<string, Command> = {
  ...Object.fromEntries(
    Object.entries(LISTINGS).map(([name, listing]): [string, Command] => [
      name,
      {
        usage: [name, listing.vhostScoped && '[-p <vhost>]', !FIXED_COLUMNS.has(name) && '[--no-table-headers] [<column> ...]'].filter(Boolean).join(' '),
        arity: [0, FIXED_COLUMNS.has(name) ? 0 : Infinity],
        validate(args) {
          const unknown = listColumns(name, args).filter((c) => !(c in listing.columns));
          return unknown.length ? `Info key(s) ${unknown.join(',')} are not supported` : undefined;
        },
        run: (ctx, args) => list(ctx, name, args),
      },
    ]),
  ),

  add_user: {
    usage: 'add_user <username> <password>',
    arity: [2, 2],
    async run(ctx, [user, password]) {
      ctx.info(`Adding user "${user}" ...`);
      if (await ctx.api.get(userPath(user!))) throw new CtlError(`Error:\nUser "${user}" already exists\n`, EX_SOFTWARE);
      await ctx.api.send('PUT', userPath(user!), { password, tags: '' });
      ctx.info("Done. Don't forget to grant the user permissions to some virtual hosts! See 'rabbitmqctl help set_permissions' to learn more.");
    },
  },
  delete_user: {
    usage: 'delete_user <username>',
    arity: [1, 1],
    async run(ctx, [user]) {
      ctx.info(`Deleting user "${user}" ...`);
      await ctx.api.send('DELETE', userPath(user!), undefined, noSuchUser(user!));
    },
  },
  change_password: {
    usage: 'change_password <username> <password>',
    arity: [2, 2],
    async run(ctx, [user, password]) {
      ctx.info(`Changing password for user "${user}" ...`);
      // PUT replaces the whole user: keep its tags
      const { tags } = await existingUser(ctx, user!);
      await ctx.api.send('PUT', userPath(user!), { password, tags: tagList(tags) });
    },
  },
  set_user_tags: {
    usage: 'set_user_tags <username> <tag> [...]',
    arity: [1, Infinity],
    async run(ctx, [user, ...tags]) {
      ctx.info(`Setting tags for user "${user}" to [${tags.join(', ')}] ...`);
      // PUT replaces the whole user: keep its password by sending its hash back
      const { password_hash, hashing_algorithm } = await existingUser(ctx, user!);
      await ctx.api.send('PUT', userPath(user!), { password_hash, hashing_algorithm, tags: tags.join(',') });
    },
  },
  set_permissions: {
    usage: 'set_permissions [-p <vhost>] <username> <conf> <write> <read>',
    arity: [4, 4],
    async run(ctx, [user, configure, write, read]) {
      ctx.info(`Setting permissions for user "${user}" in vhost "${ctx.vhost}" ...`);
      const res = await ctx.api.call('PUT', `/api/permissions/${seg(ctx.vhost)}/${seg(user!)}`, { configure, write, read });
      if (res.ok) return;
      // the API answers "vhost_or_user_not_found"; rabbitmqctl names which one is missing
      if (res.status === 400 && !(await ctx.api.get(userPath(user!)))) {
        throw new CtlError(`Error:\nUser ${user} does not exist\n`, EX_NOUSER);
      }
      if (res.status === 400) throw new CtlError(`Error:\nVirtual host ${ctx.vhost} does not exist\n`, EX_UNAVAILABLE);
      throw apiError(res.text);
    },
  },
  add_vhost: {
    usage: 'add_vhost <vhost> [--description <description>] [--tags <tag,…>] [--default-queue-type classic|quorum|stream]',
    arity: [1, 1],
    async run(ctx, [vhost]) {
      ctx.info(`Adding vhost "${vhost}" ...`);
      const { description, tags, 'default-queue-type': defaultqueuetype } = ctx.opts;
      await ctx.api.send('PUT', `/api/vhosts/${seg(vhost!)}`, { description, tags, defaultqueuetype });
    },
  },
  trace_on: {
    usage: 'trace_on [-p <vhost>]',
    arity: [0, 0],
    run: (ctx) => setTracing(ctx, true),
  },
  trace_off: {
    usage: 'trace_off [-p <vhost>]',
    arity: [0, 0],
    run: (ctx) => setTracing(ctx, false),
  },
  delete_vhost: {
    usage: 'delete_vhost <vhost>',
    arity: [1, 1],
    async run(ctx, [vhost]) {
      ctx.info(`Deleting vhost "${vhost}" ...`);
      const notFound = new CtlError(`Virtual host '${vhost}' does not exist\n`, EX_DATAERR);
      await ctx.api.send('DELETE', `/api/vhosts/${seg(vhost!)}`, undefined, notFound);
    },
  },
  set_policy: {
    usage: 'set_policy [-p <vhost>] [--priority <priority>] [--apply-to <apply-to>] <name> <pattern> <definition>',
    arity: [3, 3],
    async run(ctx, [name, pattern, definition]) {
      const priority = ctx.opts.priority!;
      ctx.info(`Setting policy "${name}" for pattern "${pattern}" to "${definition}" with priority "${priority}" for vhost "${ctx.vhost}" ...`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(definition!);
      } catch {
        throw new CtlError('Error:\nJSON decoding error. Reason: badarg\n', EX_UNAVAILABLE);
      }
      const body = { pattern, definition: parsed, priority: Number(priority), 'apply-to': ctx.opts['apply-to'] };
      await ctx.api.send('PUT', `/api/policies/${seg(ctx.vhost)}/${seg(name!)}`, body);
    },
  },
  set_vhost_limits: {
    usage: 'set_vhost_limits [-p <vhost>] <definition>',
    arity: [1, 1],
    async run(ctx, [definition]) {
      ctx.info(`Setting vhost limits to "${definition}" for vhost "${ctx.vhost}" ...`);
      let limits: Record<string, unknown>;
      try {
        limits = JSON.parse(definition!) as Record<string, unknown>;
      } catch {
        throw argumentError(ctx, `could not parse JSON document: ${definition}`);
      }
      // the definition replaces the vhost's limits, as rabbit_vhost_limit:set does
      await clearVhostLimits(ctx);
      for (const [name, value] of Object.entries(limits)) await ctx.api.send('PUT', `/api/vhost-limits/${seg(ctx.vhost)}/${seg(name)}`, { value });
    },
  },
  clear_vhost_limits: {
    usage: 'clear_vhost_limits [-p <vhost>]',
    arity: [0, 0],
    async run(ctx) {
      ctx.info(`Clearing vhost "${ctx.vhost}" limits ...`);
      await clearVhostLimits(ctx);
    },
  },
  list_vhost_limits: {
    usage: 'list_vhost_limits [-p <vhost>] [--global]',
    arity: [0, 0],
    async run(ctx) {
      type Limits = { vhost: string; value: Record<string, number> }[];
      if (ctx.opts.global) {
        ctx.info('Listing limits for all vhosts ...');
        const all = (await ctx.api.get<Limits>('/api/vhost-limits')) ?? [];
        if (all.length && !ctx.opts.silent && !ctx.opts['no-table-headers']) ctx.out('vhost\tlimits');
        for (const l of all) ctx.out(`${l.vhost}\t${JSON.stringify(l.value)}`);
        return;
      }
      ctx.info(`Listing limits for vhost "${ctx.vhost}" ...`);
      const mine = (await ctx.api.get<Limits>(`/api/vhost-limits/${seg(ctx.vhost)}`)) ?? [];
      ctx.out(mine.length ? JSON.stringify(mine[0]!.value) : '');
    },
  },
  clear_policy: {
    usage: 'clear_policy [-p <vhost>] <name>',
    arity: [1, 1],
    async run(ctx, [name]) {
      ctx.info(`Clearing policy "${name}" on vhost "${ctx.vhost}" ...`);
      const notFound = new CtlError('Error:\nParameter does not exist\n', EX_UNAVAILABLE);
      await ctx.api.send('DELETE', `/api/policies/${seg(ctx.vhost)}/${seg(name!)}`, undefined, notFound);
    },
  },
  purge_queue: {
    usage: 'purge_queue [-p <vhost>] <queue>',
    arity: [1, 1],
    async run(ctx, [queue]) {
      ctx.info(`Purging queue '${queue}' in vhost '${ctx.vhost}' ...`);
      const notFound = new CtlError('Error:\nnot_found\n', EX_UNAVAILABLE);
      await ctx.api.send('DELETE', `/api/queues/${seg(ctx.vhost)}/${seg(queue!)}/contents`, undefined, notFound);
    },
  },
  delete_queue: {
    usage: 'delete_queue [-p <vhost>] [--if-empty] [--if-unused] <queue>',
    arity: [1, 1],
    async run(ctx, [queue]) {
      ctx.info(`Deleting queue '${queue}' on vhost '${ctx.vhost}' ...`);
      const path = `/api/queues/${seg(ctx.vhost)}/${seg(queue!)}`;
      const notFound = new CtlError('Error:\nQueue not found\n', EX_USAGE);
      // the API's DELETE does not say how many messages went: its statistics do, as of their last refresh
      const found = await ctx.api.get<{ messages_ready?: number }>(path);
      if (!found) throw notFound;
      const conditions = [ctx.opts['if-empty'] && 'if-empty=true', ctx.opts['if-unused'] && 'if-unused=true'].filter(Boolean);
      await ctx.api.send('DELETE', conditions.length ? `${path}?${conditions.join('&')}` : path, undefined, notFound);
      ctx.out(`Queue was successfully deleted with ${found.messages_ready ?? 0} ready messages`);
    },
  },
  close_connection: {
    usage: 'close_connection <connection name> <explanation>',
    arity: [2, 2],
    async run(ctx, [name, explanation]) {
      ctx.info(`Closing connection ${name}, reason: ${explanation}...`);
      const notFound = new CtlError(`Error:\nConnection ${name} not found\n`, EX_UNAVAILABLE);
      await ctx.api.send('DELETE', `/api/connections/${seg(name!)}`, undefined, notFound, { 'x-reason': explanation! });
    },
  },
  close_all_connections: {
    usage: 'close_all_connections [-p <vhost> --limit <limit>] [--global] <explanation>',
    arity: [1, 1],
    async run(ctx, [explanation]) {
      const global = ctx.opts.global;
      ctx.info(
        global
          ? `Closing all connections to node ${(await ctx.overview()).node} (across all vhosts), reason: ${explanation}...`
          : `Closing all connections in vhost ${ctx.vhost}, reason: ${explanation}...`,
      );
      const path = global ? '/api/connections' : `/api/vhosts/${seg(ctx.vhost)}/connections`;
      const connections = (await ctx.api.get<{ name: string }[]>(path)) ?? [];
      const limit = Number(ctx.opts.limit); // 0: no limit, as in rabbitmqctl
      const closing = limit > 0 ? connections.slice(0, limit) : connections;
      for (const { name } of closing) {
        const res = await ctx.api.call('DELETE', `/api/connections/${seg(name)}`, undefined, { 'x-reason': explanation! });
        // a connection that closed meanwhile needs no closing
        if (!res.ok && res.status !== 404) throw apiError(res.text);
      }
      ctx.out(`Closed ${closing.length} connections`);
    },
  },
  export_definitions: {
    usage: 'export_definitions <file | ->',
    arity: [1, 1],
    async run(ctx, [destination]) {
      const res = await ctx.api.send('GET', '/api/definitions');
      if (destination === '-') return void ctx.io.stdout(res.text);
      ctx.info(`Exporting definitions in JSON to a file at "${destination}" ...`);
      await writeFile(destination!, res.text);
    },
  },
  import_definitions: {
    usage: 'import_definitions <file | ->',
    arity: [1, 1],
    async run(ctx, [source]) {
      ctx.info(source === '-' ? 'Importing definitions in JSON from standard input ...' : `Importing definitions in JSON from a file at "${source}" ...`);
      await ctx.api.send('POST', '/api/definitions', await readSource(ctx, source!));
      ctx.info('Successfully started definition import. This process is asynchronous and can take some time.');
    },
  },
  await_startup: {
    usage: 'await_startup [--timeout <seconds>]',
    arity: [0, 0],
    offline: true,
    async run(ctx) {
      const seconds = timeoutSeconds(ctx.opts, 300);
      const deadline = AbortSignal.timeout(seconds * 1000);
      for (;;) {
        const up = await ctx.api.call('GET', '/api/overview', undefined, {}, 5000).then(
          (res) => res.ok,
          (err: unknown) => {
            // wrong credentials will not come right by waiting
            if (err instanceof CtlError && err.exitCode === EX_NOPERM) throw err;
            return false;
          },
        );
        if (up) return;
        if (!(await scheduler.wait(500, { signal: deadline }).then(() => true, () => false))) {
          throw new CtlError(`Error:\nthe management API at ${ctx.api.base} did not come up within ${seconds} seconds\n`, EX_UNAVAILABLE);
        }
      }
    },
  },
  status: {
    usage: 'status',
    arity: [0, 0],
    async run(ctx) {
      const overview = await ctx.overview();
      ctx.info(`Status of node ${overview.node} ...`);
      const [node, vhosts] = await Promise.all([
        ctx.api.get<NodeStatus>(`/api/nodes/${seg(overview.node)}?memory=true`),
        ctx.api.get<unknown[]>('/api/vhosts?columns=name'),
      ]);
      for (const line of statusSections(overview, node ?? {}, vhosts?.length ?? 0)) ctx.out(line);
    },
  },
  ping: {
    usage: 'ping',
    arity: [0, 0],
    async run(ctx) {
      const { node } = await ctx.overview();
      const ms = timeoutSeconds(ctx.opts, 60) * 1000;
      ctx.info(`Will ping ${node}. This only checks if the OS process is running and registered with epmd. Timeout: ${ms} ms.`);
      ctx.out('Ping succeeded');
    },
  },
  check_running: {
    usage: 'check_running',
    arity: [0, 0],
    async run(ctx) {
      const { node } = await ctx.overview();
      ctx.info(`Checking if RabbitMQ is running on node ${node} ...`);
      const status = await ctx.api.get<{ running?: boolean }>(`/api/nodes/${seg(node)}`);
      if (!status?.running) {
        throw new CtlError(`Error:\nRabbitMQ on node ${node} is not running or has not fully booted yet (check with is_booting)\n`, EX_UNAVAILABLE);
      }
      ctx.out(`RabbitMQ on node ${node} is fully booted and running`);
    },
  },
  check_port_connectivity: {
    usage: 'check_port_connectivity',
    arity: [0, 0],
    async run(ctx) {
      const overview = await ctx.overview();
      ctx.info(`Testing TCP connections to all active listeners on node ${overview.node} ...`);
      const listeners = listenersOf(overview);
      // the listeners are on the host that serves the API, whatever address they are bound to
      const host = new URL(ctx.api.base).hostname.replace(/^\[|\]$/g, '');
      // rabbitmq-diagnostics splits its 30 s budget between the listeners
      const perListenerMs = Math.trunc((timeoutSeconds(ctx.opts, 30) * 1000) / (listeners.length + 1));
      const reached = await Promise.all(listeners.map((l) => canConnect(host, l.port, perListenerMs)));
      const failures = listeners.filter((_, i) => !reached[i]);
      if (failures.length) {
        const lines = failures.map(listenerLine).join('\n');
        throw new CtlError(`Error:\nConnection to ports of the following listeners on node ${overview.node} failed: \n${lines}\n`, EX_UNAVAILABLE);
      }
      const ports = listeners.map((l) => l.port).sort((a, b) => a - b);
      ctx.out(`Successfully connected to ports ${ports.join(', ')} on node ${overview.node}.`);
    },
  },
};

function usage(): string {
  const names = Object.keys(COMMANDS).sort();
  return (
    'Usage: warren ctl [--url <management url>] [-u <username>] [--password <password>] [-q] [-s] [--formatter json] <command> [<args>]\n\n' +
    `Runs rabbitmqctl's commands through a management HTTP API (default $WARREN_MGMT_URL, else ${DEFAULT_URL}).\n\n` +
    `Commands:\n\n${names.map((n) => `   ${COMMANDS[n]!.usage}\n`).join('')}`
  );
}

export async function ctl(argv: string[], io: CtlIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (err) {
    io.stderr(`Error (argument validation): ${(err as Error).message}\n\n${usage()}`);
    return EX_USAGE;
  }
  const { values: opts, positionals } = parsed;
  const [name, ...args] = positionals;
  if (name === undefined || name === 'help' || opts.help) {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? EX_USAGE : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`\nCommand '${name}' not found. \n\n${usage()}`);
    return EX_USAGE;
  }
  const timeout = timeoutSeconds(opts, 60);
  if (!(timeout > 0)) {
    io.stderr(`Error (argument validation): invalid --timeout ${opts.timeout}\n`);
    return EX_USAGE;
  }
  let overview: Promise<Overview> | undefined;
  const quiet = opts.quiet || opts.silent || opts.formatter === 'json';
  const ctx: Context = {
    api: new Api(opts.url ?? io.env.WARREN_MGMT_URL ?? DEFAULT_URL, opts.username, opts.password, timeout * 1000),
    opts,
    vhost: opts.vhost!,
    argv,
    usage: command.usage,
    io,
    out: (line) => io.stdout(`${line}\n`),
    info: (line) => void (quiet || io.stdout(`${line}\n`)),
    overview: () =>
      (overview ??= ctx.api.get<Overview>('/api/overview').then((o) => {
        if (!o) throw new CtlError(`Error: ${ctx.api.base} has no management API at /api/overview\n`, EX_UNAVAILABLE);
        return o;
      })),
  };
  try {
    const [min, max] = command.arity;
    if (args.length < min) throw argumentError(ctx, 'not enough arguments.');
    if (args.length > max) throw argumentError(ctx, 'too many arguments.');
    const invalid = command.validate?.(args);
    if (invalid) throw argumentError(ctx, invalid);
    // an unreachable API fails before any banner is printed
    if (!command.offline) await ctx.overview();
    await command.run(ctx, args);
    return 0;
  } catch (err) {
    if (!(err instanceof CtlError)) throw err;
    io.stderr(err.text);
    return err.exitCode;
  }
}
