// The management API's refusals, with RabbitMQ's status codes and JSON bodies.
import { BrokerError } from '../broker/errors.js';
import { ReplyCode } from '../protocol/generated/spec.js';
import type { Json } from './json.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The body's `error`; undefined for an empty body. */
    readonly error: Json | undefined,
    readonly reason?: Json,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof reason === 'string' ? reason : typeof error === 'string' ? error : String(status));
  }
}

export const notFound = () => new ApiError(404, 'Object Not Found', 'Not Found');
export const badRequest = (reason: Json) => new ApiError(400, 'bad_request', reason);
/** A signed-in user without the rights: no WWW-Authenticate, RabbitMQ's British spelling. */
export const notAuthorised = (reason: string) => new ApiError(401, 'not_authorised', reason);

/**
 * rabbit_mgmt_util:internal_server_error: a 500 whose `error` is RabbitMQ's text as the Erlang string it
 * is (a list of character codes) and whose reason is the error term.
 */
export const internalServerError = (text: string, reason: string) => new ApiError(500, [...Buffer.from(text, 'latin1')], reason);

export const REALM = { 'www-authenticate': 'Basic realm="RabbitMQ Management"' };

/** What RabbitMQ's API says when the broker operation behind it refuses. */
export function fromBrokerError(err: BrokerError): ApiError {
  const detail = err.detail;
  switch (err.code) {
    case ReplyCode.NOT_FOUND:
      return new ApiError(404, 'not_found', detail);
    // RabbitMQ's direct requests (declare, delete, bind) hide what was refused
    case ReplyCode.ACCESS_REFUSED:
    case ReplyCode.NOT_ALLOWED:
      return notAuthorised('Access refused.');
    default:
      return badRequest(detail);
  }
}

/** RabbitMQ prints a missing-keys refusal as the Erlang term it is (~p: one line up to 80 columns). */
export function keysMissing(keys: readonly string[]): ApiError {
  const items = keys.map((k) => `{key_missing,${k}}`);
  const flat = `[${items.join(',')}]`;
  return badRequest(flat.length <= 80 ? flat : `[${items.join(',\n ')}]`);
}
