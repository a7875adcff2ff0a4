// Exchanges and their routing: direct, fanout, topic (a trie) and headers, as RabbitMQ routes.
import type { FieldTable, FieldValue } from '../protocol/field-table.js';
import type { Message } from './message.js';
import { MessageCounters } from './observation.js';
import type { Queue } from './queue.js';
import { TopicTrie } from './topic-trie.js';

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers';
export const EXCHANGE_TYPES: readonly ExchangeType[] = ['direct', 'fanout', 'topic', 'headers'];

export type Destination = Queue | Exchange;

export interface Binding {
  readonly source: Exchange;
  readonly destination: Destination;
  readonly routingKey: string;
  readonly args: FieldTable;
  /** Identity of the binding within its source: destination, key and arguments. */
  readonly id: string;
}

export function bindingId(destination: Destination, routingKey: string, args: FieldTable): string {
  return `${destination.kind}\u0000${destination.name}\u0000${routingKey}\u0000${canonicalTable(args)}`;
}

/** A table as a string that is equal for equal tables whatever their key order. */
export function canonicalTable(t: FieldTable): string {
  return JSON.stringify(
    Object.keys(t)
      .sort()
      .map((k) => [k, t[k].type, canonicalValue(t[k])]),
  );
}

function canonicalValue(f: FieldValue): unknown {
  switch (f.type) {
    case 'F':
      return canonicalTable(f.value);
    case 'A':
      return f.value.map((v) => [v.type, canonicalValue(v)]);
    case 'l':
    case 'T':
      return String(f.value);
    case 'S':
    case 'x':
      return Buffer.from(f.value).toString('hex');
    default:
      return f.value;
  }
}

export interface ExchangeOptions {
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  args: FieldTable;
  /** Who declared it; undefined for the broker's own. */
  createdBy?: string;
}

export abstract class Exchange {
  readonly kind = 'exchange';
  /** Bindings from this exchange, by id. */
  readonly bindings = new Map<string, Binding>();
  /** Bindings that route into this exchange (exchange-to-exchange). */
  readonly incoming = new Set<Binding>();
  readonly counters = new MessageCounters();

  constructor(
    readonly name: string,
    readonly type: ExchangeType,
    readonly options: ExchangeOptions,
  ) {}

  /** Adds the binding; false when an equal one exists. */
  bind(b: Binding): boolean {
    if (this.bindings.has(b.id)) return false;
    this.bindings.set(b.id, b);
    this.addRoute(b);
    return true;
  }

  unbind(id: string): Binding | undefined {
    const b = this.bindings.get(id);
    if (!b) return undefined;
    this.bindings.delete(id);
    this.removeRoute(b);
    return b;
  }

  protected abstract addRoute(b: Binding): void;
  protected abstract removeRoute(b: Binding): void;
  /** Adds the bindings the message matches, routed with `routingKey`, to `out`. */
  abstract match(message: Message, routingKey: string, out: Set<Binding>): void;

  /** The alternate-exchange policy key, when a policy applies (the argument wins over it). */
  policyAlternate: string | undefined;

  get alternateExchange(): string | undefined {
    const ae = this.options.args['alternate-exchange'];
    return ae?.type === 'S' ? String(ae.value) : this.policyAlternate;
  }
}

class DirectExchange extends Exchange {
  private readonly byKey = new Map<string, Set<Binding>>();

  protected addRoute(b: Binding): void {
    let set = this.byKey.get(b.routingKey);
    if (!set) this.byKey.set(b.routingKey, (set = new Set()));
    set.add(b);
  }

  protected removeRoute(b: Binding): void {
    const set = this.byKey.get(b.routingKey);
    set?.delete(b);
    if (set?.size === 0) this.byKey.delete(b.routingKey);
  }

  match(_message: Message, routingKey: string, out: Set<Binding>): void {
    const set = this.byKey.get(routingKey);
    if (set) for (const b of set) out.add(b);
  }
}

class FanoutExchange extends Exchange {
  protected addRoute(): void {}
  protected removeRoute(): void {}

  match(_message: Message, _routingKey: string, out: Set<Binding>): void {
    for (const b of this.bindings.values()) out.add(b);
  }
}

class TopicExchange extends Exchange {
  private readonly trie = new TopicTrie<Binding>();

  protected addRoute(b: Binding): void {
    this.trie.add(b.routingKey, b);
  }

  protected removeRoute(b: Binding): void {
    this.trie.remove(b.routingKey, b);
  }

  match(_message: Message, routingKey: string, out: Set<Binding>): void {
    this.trie.match(routingKey, out);
  }
}

/**
 * Header values compare as Erlang's == does: numbers by value whatever their type (1 = 1.0), strings
 * and byte arrays by their bytes, anything else only with the same type.
 */
function typeClass(type: string): string {
  if ('bBsuIilfdT'.includes(type)) return 'number';
  if (type === 'x') return 'S';
  return type;
}

function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (typeClass(a.type) !== typeClass(b.type)) return false;
  if (typeClass(a.type) === 'number') return Number(a.value) === Number(b.value);
  return JSON.stringify(canonicalValue(a)) === JSON.stringify(canonicalValue(b));
}

class HeadersExchange extends Exchange {
  protected addRoute(): void {}
  protected removeRoute(): void {}

  match(message: Message, _routingKey: string, out: Set<Binding>): void {
    const headers = message.properties.headers ?? {};
    for (const b of this.bindings.values()) if (headersMatch(b.args, headers)) out.add(b);
  }
}

/** x-match all (default), any, all-with-x, any-with-x; a void binding value only asks for presence. */
export function headersMatch(args: FieldTable, headers: FieldTable): boolean {
  const mode = args['x-match'];
  const kind = mode?.type === 'S' ? String(mode.value) : 'all';
  const any = kind === 'any' || kind === 'any-with-x';
  const withX = kind.endsWith('-with-x');
  let matched = 0;
  let considered = 0;
  for (const key of Object.keys(args)) {
    if (key === 'x-match' || (!withX && key.startsWith('x-'))) continue;
    considered++;
    const want = args[key];
    const have = headers[key];
    const ok = have !== undefined && (want.type === 'V' || sameValue(want, have));
    if (ok) {
      if (any) return true;
      matched++;
    } else if (!any) return false;
  }
  return any ? false : matched === considered;
}

export function createExchange(name: string, type: ExchangeType, options: ExchangeOptions): Exchange {
  switch (type) {
    case 'direct':
      return new DirectExchange(name, type, options);
    case 'fanout':
      return new FanoutExchange(name, type, options);
    case 'topic':
      return new TopicExchange(name, type, options);
    case 'headers':
      return new HeadersExchange(name, type, options);
  }
}
