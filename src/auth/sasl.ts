// SASL mechanisms: PLAIN and AMQPLAIN (RabbitMQ's defaults) carry a user name and password; EXTERNAL
// (rabbitmq_auth_mechanism_ssl) takes the name from the client's TLS certificate.
import { DecodeError, Reader } from '../protocol/codec.js';

export interface Credentials {
  username: string;
  password: string;
}

export const MECHANISMS = ['PLAIN', 'AMQPLAIN', 'EXTERNAL'] as const;
export type Mechanism = (typeof MECHANISMS)[number];

export function isMechanism(name: string): name is Mechanism {
  return (MECHANISMS as readonly string[]).includes(name);
}

/** The credentials in a start-ok response, or undefined when the response is malformed. */
export function parseResponse(mechanism: Exclude<Mechanism, 'EXTERNAL'>, response: Buffer): Credentials | undefined {
  return mechanism === 'PLAIN' ? parsePlain(response) : parseAmqplain(response);
}

/** PLAIN: authzid NUL authcid NUL password (RFC 4616). */
function parsePlain(response: Buffer): Credentials | undefined {
  const first = response.indexOf(0);
  const second = first < 0 ? -1 : response.indexOf(0, first + 1);
  if (second < 0 || response.indexOf(0, second + 1) >= 0) return undefined;
  return {
    username: response.toString('utf8', first + 1, second),
    password: response.toString('utf8', second + 1),
  };
}

/** AMQPLAIN: a field table without its length prefix holding LOGIN and PASSWORD. */
function parseAmqplain(response: Buffer): Credentials | undefined {
  const r = new Reader(response);
  const fields = new Map<string, unknown>();
  try {
    while (r.remaining > 0) {
      const key = r.shortstr();
      fields.set(key, r.fieldValue().value);
    }
  } catch (err) {
    if (err instanceof DecodeError) return undefined;
    throw err;
  }
  const username = fields.get('LOGIN');
  const password = fields.get('PASSWORD');
  const text = (v: unknown) => (typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined);
  const u = text(username);
  const p = text(password);
  return u === undefined || p === undefined ? undefined : { username: u, password: p };
}
