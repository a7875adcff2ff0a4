// The management HTTP API's listener: RabbitMQ 3.10's paths, methods, authentication and replies
// (status codes, headers, JSON error bodies), on node:http with find-my-way's router. A request is
// authenticated against the broker's users, its route's rights are checked against the user's
// tags, and the handler's reply or refusal is written as RabbitMQ writes it.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import FindMyWay from 'find-my-way';
import { dashboardFile } from './dashboard.js';
import { bind, requestUrl } from './listen.js';
import type { Broker } from '../broker/broker.js';
import { BrokerError } from '../broker/errors.js';
import type { Logger } from '../broker/logger.js';
import type { User } from '../auth/users.js';
import { ApiError, REALM, fromBrokerError, notAuthorised } from './errors.js';
import type { Json } from './json.js';
import { Rates } from './rates.js';
import { registerRoutes } from './routes.js';
import { isManagementUser, refusal, type Rights } from './rights.js';
import { sampled, vhostLengths, vhostOctets, type NodeInfo, type ViewContext } from './views.js';

export interface ApiRequest {
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly user: User;
  /** The body as JSON; an empty body is undefined. Invalid JSON is refused with `invalidJson`. */
  json(invalidJson?: string): Json | undefined;
}

export interface Reply {
  readonly status: number;
  readonly body?: Json;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Handler = (req: ApiRequest, ctx: ApiContext) => Reply | Promise<Reply>;

export interface ApiContext extends ViewContext {
  readonly logger: Logger;
}

interface Route {
  readonly handler: Handler;
  readonly rights: Rights;
}

/** RabbitMQ's headers on its JSON replies. */
const JSON_HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'no-cache',
  'content-security-policy': "script-src 'self' 'unsafe-eval' 'unsafe-inline'; object-src 'self'",
  vary: 'accept, accept-encoding, origin',
};

const METHODS = ['GET', 'PUT', 'POST', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

/** The largest request body taken (RabbitMQ's management.http.max_body_size default, 20 MB). */
const MAX_BODY = 20 << 20;

export interface ManagementOptions {
  port: number;
  host: string;
}

export class ManagementServer {
  private readonly http: HttpServer | HttpsServer;
  private readonly router = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: false });
  private readonly rates: Rates;
  private readonly ctx: ApiContext;
  private bound: { host: string; port: number } | undefined;

  constructor(
    private readonly broker: Broker,
    private logger: Logger,
    node: Omit<NodeInfo, 'http'>,
    /** Served over HTTPS with this certificate and key (RabbitMQ's management.ssl.*). */
    tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer },
  ) {
    this.rates = new Rates(broker.clock, () => this.samples());
    const server = this;
    this.ctx = {
      broker,
      rates: this.rates,
      get logger() {
        return server.logger;
      },
      node: {
        ...node,
        get http() {
          return server.bound;
        },
      },
    };
    registerRoutes((method, path, rights, handler) => this.router.on(method, path, () => {}, { handler, rights } satisfies Route));
    const handler = (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res);
    this.http = tls ? createHttpsServer(tls, handler) : createServer(handler);
    this.http.on('clientError', (err, socket) => {
      this.logger.debug({ err }, 'malformed HTTP request');
      socket.destroy();
    });
  }

  /** Replaceable: the CLI starts before pino is loaded. */
  set log(logger: Logger) {
    this.logger = logger;
  }

  async listen(port: number, host: string): Promise<{ host: string; port: number }> {
    this.bound = await bind(this.http, port, host);
    return this.bound;
  }

  close(): Promise<void> {
    this.rates.stop();
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** What the rate sampler follows: vhosts, exchanges, queues, connections, channels and the node. */
  private *samples(): Iterable<[object, Record<string, number>]> {
    const broker = this.broker;
    const churn = broker.churn;
    yield [
      broker,
      sampled(broker.counters, {
        connection_created: churn.connectionCreated,
        connection_closed: churn.connectionClosed,
        channel_created: churn.channelCreated,
        channel_closed: churn.channelClosed,
        queue_created: churn.queueCreated,
        queue_declared: churn.queueDeclared,
        queue_deleted: churn.queueDeleted,
      }),
    ];
    for (const name of broker.vhostNames) {
      const v = broker.vhost(name)!;
      for (const q of v.queues.values()) {
        const ready = q.messageCount;
        yield [q, sampled(q.counters, { messages: ready + q.unacked, messages_ready: ready, messages_unacknowledged: q.unacked })];
      }
      for (const e of v.exchanges.values()) yield [e, sampled(e.counters)];
      const { ready, unacked } = vhostLengths(v);
      const octets = vhostOctets(broker, v);
      yield [v, sampled(v.counters, { messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked, recv_oct: octets.in, send_oct: octets.out })];
    }
    for (const c of broker.connections) {
      yield [c, { recv_oct: c.bytesIn, send_oct: c.bytesOut }];
      for (const ch of c.clientChannels) yield [ch, sampled(ch.session.counters)];
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = requestUrl(req);
    // cowboy answers a request target it cannot parse with an empty 400
    if (!url) return this.write(res, { status: 400 }, false);
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/api' || url.pathname === '/api/') return this.write(res, { status: 301, headers: { location: '/api/index.html' } }, false);
    // the dashboard: its page signs in with the API's Basic auth, so its files need none
    const file = (method === 'GET' || method === 'HEAD') && !url.pathname.startsWith('/api/') ? dashboardFile(url.pathname) : undefined;
    if (file) {
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache' });
      res.end(method === 'HEAD' ? undefined : file.body);
      return;
    }
    const lookup = method === 'HEAD' ? 'GET' : (method as Method);
    const found = METHODS.includes(lookup as Method) ? this.router.find(lookup as Method, url.pathname) : null;
    if (found === null) {
      const allowed = METHODS.filter((m) => this.router.find(m, url.pathname) !== null);
      if (allowed.length === 0) return this.write(res, errorReply(new ApiError(404, 'Object Not Found', 'Not Found', { vary: 'origin' })), false);
      const allow = ['HEAD', ...allowed, 'OPTIONS'].join(', ');
      if (method === 'OPTIONS') return this.write(res, { status: 200, headers: { allow } }, false);
      return this.write(res, { status: 405, headers: { allow, vary: 'origin' } }, false);
    }
    const route = found.store as Route;
    let user: User;
    try {
      user = this.authenticate(req.headers.authorization);
      if (!isManagementUser(user)) throw notAuthorised('Not management user');
      const refused = refusal(this.broker, user, route.rights, (found.params as Record<string, string>).vhost);
      if (refused !== undefined) throw notAuthorised(refused);
    } catch (err) {
      return this.write(res, errorReply(err as ApiError), false);
    }
    if (!acceptsJson(req.headers.accept)) return this.write(res, { status: 406, headers: { vary: 'origin' } }, false);
    this.readBody(req, (body) => {
      const request: ApiRequest = {
        method,
        params: found.params as Record<string, string>,
        query: url.searchParams,
        headers: req.headers,
        user,
        json: (invalidJson = 'not_json') => parseBody(body, invalidJson),
      };
      const failed = (err: unknown): Reply => {
        if (err instanceof ApiError) return errorReply(err);
        if (err instanceof BrokerError) return errorReply(fromBrokerError(err));
        // RabbitMQ's handler crashes answer an empty 500
        this.logger.error({ err, method, path: url.pathname }, 'management request failed');
        return { status: 500 };
      };
      let reply: Reply | Promise<Reply>;
      try {
        reply = route.handler(request, this.ctx);
      } catch (err) {
        reply = failed(err);
      }
      if (reply instanceof Promise) reply.catch(failed).then((r) => this.write(res, r, method === 'HEAD'));
      else this.write(res, reply, method === 'HEAD');
    });
  }

  /** The user named by a Basic Authorization header with the right password, or RabbitMQ's refusal. */
  private authenticate(header: string | undefined): User {
    if (header === undefined) throw new ApiError(401, undefined, undefined, REALM);
    const m = /^Basic\s+(\S*)$/i.exec(header);
    if (!m) throw new ApiError(401, 'not_authorized', 'Login failed', REALM);
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    if (!/^[A-Za-z0-9+/=]*$/.test(m[1]) || !decoded.includes(':')) throw new ApiError(400, undefined);
    const colon = decoded.indexOf(':');
    const user = this.broker.users.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1));
    if (!user) throw new ApiError(401, 'not_authorized', 'Login failed', REALM);
    return user;
  }

  private readBody(req: IncomingMessage, then: (body: Buffer) => void): void {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => then(Buffer.concat(parts)));
  }

  private write(res: ServerResponse, reply: Reply, headOnly: boolean): void {
    const headers: Record<string, string | number> = { ...(reply.body !== undefined ? JSON_HEADERS : {}), ...reply.headers };
    let text: string | undefined;
    if (reply.body !== undefined) text = JSON.stringify(reply.body);
    if (text !== undefined) headers['content-length'] = Buffer.byteLength(text);
    else if (reply.status !== 204) headers['content-length'] = 0;
    res.writeHead(reply.status, headers);
    res.end(headOnly ? undefined : text);
  }
}

function errorReply(err: ApiError): Reply {
  if (err.error === undefined) return { status: err.status, headers: err.headers };
  return { status: err.status, body: { error: err.error, reason: err.reason ?? null }, headers: { vary: 'origin', ...err.headers } };
}

/** JSON, anything, or BERT (which RabbitMQ also speaks; Warren answers it with JSON). */
function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => /^\s*(application\/json|application\/bert|application\/\*|\*\/\*)\s*(;|$)/i.test(part));
}

function parseBody(body: Buffer, invalidJson: string): Json | undefined {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as Json;
  } catch {
    throw new ApiError(400, 'bad_request', invalidJson);
  }
}
