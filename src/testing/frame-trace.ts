// Warren's frame trace for client authors: every frame in and out as a JSON line (time, connection,
// channel, direction, the method and its arguments, content-header properties, body sizes and a
// prefix of each body), and a reader that prints a trace file readably, filtered. The AMQP view of a
// failing client test without a packet capture. It costs nothing unless a trace is asked for (it is
// a listener on the broker's frame channel).
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Broker } from '../broker/broker.js';
import { realClock } from '../broker/clock.js';
import { subscribe, type FrameEvent } from '../broker/observation.js';
import { fieldToJson, tableToJson, type Json } from '../protocol/field-json.js';
import type { FieldValue } from '../protocol/field-table.js';
import { decodeContentHeader, decodeMethod, methodKey } from '../protocol/frames.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, METHODS } from '../protocol/generated/spec.js';

/** Bytes of each body kept in the trace. */
const BODY_PREFIX = 64;

export interface TraceLine {
  /** ms since the epoch (the machine's clock: a trace is about when things happened for real). */
  time: number;
  connection: number;
  channel: number;
  direction: 'in' | 'out';
  type: 'method' | 'header' | 'body' | 'heartbeat' | 'unknown';
  method?: string;
  arguments?: Record<string, Json>;
  properties?: Record<string, Json>;
  bodySize?: number;
  /** The body's first bytes: text when they are UTF-8, else base64 (`bodyEncoding`). */
  body?: string;
  bodyEncoding?: 'utf8' | 'base64';
  /** A payload that would not decode, in base64. */
  payload?: string;
}

/** Arguments and properties as JSON: tables as the management API writes them, bytes as text. */
function json(v: unknown): Json {
  if (v === undefined || v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'object') return v as Json;
  if ('type' in v && 'value' in v) return fieldToJson(v as FieldValue);
  return tableToJson(v as Parameters<typeof tableToJson>[0]);
}

function plain(o: object, method?: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    // a SASL response carries the password
    if (k === 'response' && (method === 'connection.start-ok' || method === 'connection.secure-ok')) {
      out[k] = `(${(v as Buffer).length} bytes, not traced)`;
      continue;
    }
    out[k] = k === 'headers' || k === 'clientProperties' || k === 'serverProperties' || k === 'arguments' ? tableToJson(v) : json(v);
  }
  return out;
}

export function traceLine(f: FrameEvent, time: number): TraceLine {
  const base = { time, connection: f.connection, channel: f.channel, direction: f.direction };
  const p = f.payload;
  try {
    switch (f.type) {
      case FRAME_METHOD: {
        const m = decodeMethod(p);
        const name = METHODS.get(methodKey(p))?.name;
        if (!m || !name) break;
        return { ...base, type: 'method', method: name, arguments: plain(m.args, name) };
      }
      case FRAME_HEADER: {
        const h = decodeContentHeader(p);
        return { ...base, type: 'header', bodySize: Number(h.bodySize), properties: plain(h.properties) };
      }
      case FRAME_BODY: {
        const prefix = p.subarray(0, BODY_PREFIX);
        const text = new TextDecoder('utf-8', { fatal: true });
        let body: string;
        let bodyEncoding: 'utf8' | 'base64' = 'utf8';
        try {
          body = text.decode(prefix);
        } catch {
          body = prefix.toString('base64');
          bodyEncoding = 'base64';
        }
        return { ...base, type: 'body', bodySize: p.length, body, bodyEncoding };
      }
      case FRAME_HEARTBEAT:
        return { ...base, type: 'heartbeat' };
    }
  } catch {
    // a frame the broker refuses is traced as it came
  }
  return { ...base, type: 'unknown', payload: p.toString('base64') };
}

/** Writes a broker's frames to `path` as JSON lines until stopped. */
export class FrameTrace {
  private readonly out: WriteStream;
  private readonly stop: () => void;

  constructor(broker: Broker, path: string) {
    this.out = createWriteStream(path, { flags: 'a' });
    this.out.on('error', (err) => broker.logger.error({ err, path }, 'frame trace cannot be written; tracing stops'));
    this.stop = subscribe(broker, 'frame', (f) => this.out.write(`${JSON.stringify(traceLine(f, realClock.now()))}\n`));
  }

  close(): Promise<void> {
    this.stop();
    return new Promise((resolve) => this.out.end(resolve));
  }
}

export interface TraceFilter {
  connection?: number;
  channel?: number;
  /** A method name ('basic.publish') or a class ('basic'); content frames follow their method. */
  method?: string;
}

const arrow = (d: 'in' | 'out') => (d === 'in' ? 'C→S' : 'S→C');
const fields = (o: Record<string, Json> | undefined) =>
  Object.entries(o ?? {})
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(' ');

/** One line for a person: when, where, which way, what. */
export function formatTraceLine(l: TraceLine): string {
  const when = new Date(l.time).toISOString().slice(11, 23);
  const where = `conn ${l.connection} ch ${l.channel} ${arrow(l.direction)}`;
  switch (l.type) {
    case 'method':
      return `${when} ${where} ${l.method} ${fields(l.arguments)}`.trimEnd();
    case 'header':
      return `${when} ${where}   content header: ${l.bodySize} bytes ${fields(l.properties)}`.trimEnd();
    case 'body':
      return `${when} ${where}   body ${l.bodySize} bytes: ${l.bodyEncoding === 'base64' ? `(base64) ${l.body}` : JSON.stringify(l.body)}`;
    case 'heartbeat':
      return `${when} ${where} heartbeat`;
    default:
      return `${when} ${where} undecodable frame (base64) ${l.payload}`;
  }
}

/** The readable form of a trace file's text, filtered; content frames go with the method they follow. */
export function formatTrace(text: string, filter: TraceFilter = {}): string {
  const out: string[] = [];
  // per connection, channel and direction: whether the last method passed the method filter
  const lastMethodShown = new Map<string, boolean>();
  for (const [i, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    let l: TraceLine;
    try {
      l = JSON.parse(raw) as TraceLine;
    } catch {
      throw new Error(`line ${i + 1} is not a trace line (a JSON object written by --trace): ${raw.slice(0, 60)}`);
    }
    if (filter.connection !== undefined && l.connection !== filter.connection) continue;
    if (filter.channel !== undefined && l.channel !== filter.channel) continue;
    if (filter.method !== undefined) {
      const key = `${l.connection}/${l.channel}/${l.direction}`;
      if (l.type === 'method') {
        const shown = l.method === filter.method || l.method!.startsWith(`${filter.method}.`);
        lastMethodShown.set(key, shown);
        if (!shown) continue;
      } else if ((l.type === 'header' || l.type === 'body') && lastMethodShown.get(key)) {
        // content of a shown method
      } else continue;
    }
    out.push(formatTraceLine(l));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
