// A small client for the management HTTP API in tests: requests with Basic auth, replies parsed.
import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';
import type { TestBroker } from './broker.js';

export interface ApiReply {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text when it is not JSON, or undefined when empty. */
  body: unknown;
}

export interface Api {
  request(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<ApiReply>;
  get(path: string): Promise<ApiReply>;
  put(path: string, body: unknown): Promise<ApiReply>;
  post(path: string, body: unknown): Promise<ApiReply>;
  del(path: string): Promise<ApiReply>;
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export function api(base: string, user: string, password: string): Api {
  const request = async (method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<ApiReply> => {
    const res = await fetch(base + path, { method, body, headers: { authorization: basic(user, password), 'content-type': 'application/json', ...headers } });
    const text = await res.text();
    let parsed: unknown = text === '' ? undefined : text;
    try {
      if (text !== '') parsed = JSON.parse(text);
    } catch {
      // not JSON: the text is the body
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return {
    request,
    get: (path) => request('GET', path),
    put: (path, body) => request('PUT', path, JSON.stringify(body)),
    post: (path, body) => request('POST', path, JSON.stringify(body)),
    del: (path) => request('DELETE', path),
  };
}

/**
 * What a request shows once it shows `done`. Warren's statistics are exact at the moment of the
 * request, so against Warren the first answer must already be right; RabbitMQ's lag up to 5 s (its
 * collection interval), so against it the request is repeated for up to 10 s.
 */
export async function eventually(broker: TestBroker, request: () => Promise<ApiReply>, done: (r: ApiReply) => boolean): Promise<ApiReply> {
  const deadline = Date.now() + (broker.embedded ? 0 : 10_000);
  for (;;) {
    const reply = await request();
    if (done(reply) || Date.now() >= deadline) {
      expect(done(reply), `not yet so: ${JSON.stringify(reply.body).slice(0, 400)}`).toBe(true);
      return reply;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A GET of `path` exactly as written (fetch would normalise it). */
export function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, auth: 'guest:guest' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
