// The HTTP listeners' bind (the management API's, Prometheus's): listens on `port` (0: a free one) and
// says where; a failure to listen rejects (EADDRINUSE…). The AMQP listener has its twin in
// src/server/server.ts: the layers do not import each other.
import type { IncomingMessage } from 'node:http';
import type { Server } from 'node:net';

export function bind(listener: Server, port: number, host: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      const addr = listener.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('the listener has no TCP address'));
      resolve({ host: addr.address, port: addr.port });
    });
  });
}

/** The request's path and query; undefined for a target no URL parser takes ("//%%"): a 400. */
export function requestUrl(req: IncomingMessage): URL | undefined {
  return URL.canParse(req.url ?? '/', 'http://warren') ? new URL(req.url ?? '/', 'http://warren') : undefined;
}
