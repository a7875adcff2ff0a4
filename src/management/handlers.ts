// What the management API's handlers share: replies, the path's vhost, and reading request bodies
// as RabbitMQ's rabbit_mgmt_util reads them.
import { NO_OUTPUT, type Session } from '../broker/session.js';
import type { VirtualHost } from '../broker/virtual-host.js';
import { ApiError, badRequest, keysMissing, notFound } from './errors.js';
import type { Json } from './json.js';
import type { Rights } from './rights.js';
import type { ApiContext, ApiRequest, Handler, Reply } from './server.js';

export type JsonObject = { [key: string]: Json };
export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
export type AddRoute = (method: Method, path: string, rights: Rights, handler: Handler) => void;

export const ok = (body: Json): Reply => ({ status: 200, body });
/** RabbitMQ's PUT: 201 for what it made, 204 for what it changed. */
export const putReply = (existed: boolean): Reply => ({ status: existed ? 204 : 201 });
export const NO_CONTENT: Reply = { status: 204 };

/** The vhost a path names, or 404. */
export function vhostParam(ctx: ApiContext, req: ApiRequest): VirtualHost {
  const v = ctx.broker.vhost(req.params.vhost);
  if (!v) throw notFound();
  return v;
}

/** A JSON object body; none at all is an empty one, anything else is RabbitMQ's not_json. */
export function bodyObject(req: ApiRequest, invalidJson = 'not_json'): JsonObject {
  const body = req.json(invalidJson);
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest(invalidJson);
  return body;
}

/** RabbitMQ's with_decode: the keys that must be there, or its key_missing list. */
export function requireKeys(body: JsonObject, keys: readonly string[]): void {
  const missing = keys.filter((k) => !(k in body));
  if (missing.length > 0) throw keysMissing(missing);
}

/** RabbitMQ's parse_bool: true, false, "true", "false", or absent. */
export function parseBool(v: Json | undefined): boolean | undefined {
  if (v === undefined || v === true || v === 'true') return v === undefined ? undefined : true;
  if (v === false || v === 'false') return false;
  throw new ApiError(400, 'bad_request', ['not_boolean', v]);
}

/** RabbitMQ's parse_int: an integer, a number (truncated), or a string of digits. */
export function parseInt_(v: Json | undefined): number {
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v)) return Number(v);
  throw new ApiError(400, 'bad_request', ['not_integer', v ?? 'undefined']);
}


/** A session for one request, acting for its user, released when `work` is done (nothing is ever delivered to it). */
export function withSession<T>(ctx: ApiContext, req: ApiRequest, v: VirtualHost, work: (s: Session) => T): T {
  const session = ctx.broker.openSession(v, req.user.name, {}, NO_OUTPUT);
  try {
    return work(session);
  } finally {
    session.release();
  }
}
